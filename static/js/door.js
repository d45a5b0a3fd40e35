/* The door page's scanner (checkin/door.html), added on top of a page that works without it.

   A camera button; each check-in code seen is sent to the server (scan_manage.py) and its
   answer fills the screen in green, amber or red; then the next scan. Codes are read by the
   browser's BarcodeDetector where it has one, else by jsQR, served from this site
   (static/vendor/jsqr, loaded only then).

   When the network is down, a scan is kept on this phone as {code, scanned_at, day} and
   nothing else (no name, nothing about the person), counted on the page, and sent when the
   connection returns ("online", and a retry every few seconds); the server answers each as it
   would have at its time, and the answers are listed. */
(function () {
  "use strict";

  var scanner = document.getElementById("door-scanner");
  var overlay = document.getElementById("door-result");
  if (!scanner || !overlay || !window.fetch || !window.JSON) {
    return;
  }
  var data = scanner.dataset;
  var daySelect = document.getElementById("door-day");
  var cameraButton = document.getElementById("door-camera");
  var videoBox = scanner.querySelector(".door-video-box");
  var video = document.getElementById("door-video");
  var statusLine = document.getElementById("door-scan-status");
  var queueLine = document.getElementById("door-queue");
  var sentBox = document.getElementById("door-sent");
  var sentList = document.getElementById("door-sent-list");
  var nextLink = document.getElementById("door-next");
  var overrideButton = document.getElementById("door-override");

  // One queue per door and per staff member: scans never go out under someone else's name.
  var QUEUE_KEY = "nkhr-door-queue:" + data.scanUrl + ":" + data.staff;
  var RETRY_MS = 10000;
  var SAME_CODE_MS = 5000;
  var RESULT_MS = 2500;
  var FRAME_MS = 120;

  var stream = null;
  var detector = null;
  var decode = null;
  var canvas = null;
  var busy = false;
  var sending = false;
  var lastCode = "";
  var lastCodeAt = 0;
  var lastScan = null;
  var resultTimer = 0;
  var frameTimer = 0;
  var plural = window.Intl && Intl.PluralRules ? new Intl.PluralRules(data.language) : null;

  // --- the queue: codes and times only ---------------------------------------------------------

  function readQueue() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(QUEUE_KEY) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function writeQueue(queue) {
    try {
      if (queue.length) {
        window.localStorage.setItem(QUEUE_KEY, JSON.stringify(queue));
      } else {
        window.localStorage.removeItem(QUEUE_KEY);
      }
    } catch (error) {
      /* Storage full or refused: the count below still tells staff what is pending. */
    }
    showQueue(queue.length);
  }

  function enqueue(scan) {
    var queue = readQueue();
    var waiting = queue.some(function (kept) {
      return kept.code === scan.code && kept.day === scan.day;
    });
    if (!waiting) {  // The same person scanned twice while offline: sent once.
      queue.push({ code: scan.code, scanned_at: scan.scanned_at, day: scan.day });
    }
    writeQueue(queue);
  }

  function showQueue(count) {
    if (!count) {
      queueLine.hidden = true;
      queueLine.textContent = "";
      return;
    }
    var form = plural && plural.select(count) === "one" ? data.waitingOne : data.waitingOther;
    queueLine.textContent = form.replace("{n}", String(count));
    queueLine.hidden = false;
  }

  // --- talking to the server -------------------------------------------------------------------

  function post(scans, override) {
    return window.fetch(data.scanUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": data.csrfToken
      },
      body: JSON.stringify({ scans: scans, override: !!override })
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (response.ok && json && !response.redirected) {
        return response.json();
      }
      // Signed out (the session ended) or the page's form token expired: the server says so
      // in JSON; a page of HTML after a redirect means the same.
      return (json ? response.json() : Promise.resolve({})).catch(function () {
        return {};
      }).then(function (body) {
        var failure = new Error(body.error || data.textFailed);
        failure.status = response.ok ? 401 : response.status;
        failure.reload = failure.status === 401 || body.reason === "expired";
        throw failure;
      });
    });
  }

  function sameScan(one, other) {
    return one.code === other.code && one.day === other.day &&
      one.scanned_at === other.scanned_at;
  }

  function withoutBatch(batch) {
    return readQueue().filter(function (kept) {
      return !batch.some(function (sent) { return sameScan(sent, kept); });
    });
  }

  /* Worth sending again later: the network, a rate limit or the server, not the request. */
  function retriable(error) {
    return !error.status || error.status === 429 || error.status >= 500;
  }

  function flush() {
    var queue = readQueue();
    if (sending || !queue.length) {
      showQueue(queue.length);
      return;
    }
    var batch = queue.slice(0, 50);
    sending = true;
    post(batch, false).then(function (answer) {
      sending = false;
      var rest = withoutBatch(batch);  // by value: another tab may have sent some already
      writeQueue(rest);
      answer.results.forEach(listSent);
      if (rest.length) {
        flush();
      }
    }, function (error) {
      sending = false;
      if (error.reload) {
        statusLine.textContent = error.message;  // kept until signed in again
      } else if (!retriable(error)) {
        writeQueue(withoutBatch(batch));  // a request the server will never take
        statusLine.textContent = error.message;
      }
    });
  }

  function listSent(result) {
    var item = document.createElement("li");
    item.className = "door-sent-" + result.colour;
    var parts = [result.icon + " " + result.headline];
    if (result.name) {
      parts.push(result.name);
    }
    if (result.colour !== "green" || !result.name) {
      parts.push(result.detail);
    }
    item.textContent = parts.join(" · ");
    sentList.appendChild(item);
    sentBox.hidden = false;
  }

  function send(scan, override) {
    lastScan = scan;
    statusLine.textContent = data.textSending;
    post([scan], override).then(function (answer) {
      statusLine.textContent = "";
      showResult(answer.results[0]);
      flush();
    }, function (error) {
      if (error.reload) {
        enqueue(scan);
        statusLine.textContent = error.message;
      } else if (retriable(error)) {
        enqueue(scan);
        statusLine.textContent = data.textOffline;
      } else {
        statusLine.textContent = error.message;
      }
      busy = false;
    });
  }

  /* User Timing marks: how long a scan takes to show its result (BENCHMARKS.md). */
  function mark(name) {
    if (window.performance && performance.mark) {
      performance.mark(name);
    }
  }

  // --- the result on the whole screen ----------------------------------------------------------

  function field(name) {
    return overlay.querySelector('[data-field="' + name + '"]');
  }

  function showResult(result) {
    overlay.className = "door-result door-result-" + result.colour;
    field("icon").textContent = result.icon;
    field("headline").textContent = result.headline;
    field("name").textContent = result.name;
    field("name").hidden = !result.name;
    field("category").textContent = result.category;
    field("day").textContent = result.day;
    var separator = overlay.querySelector(".door-result-sep");
    if (separator) {
      separator.hidden = !result.category;
    }
    var detail = field("detail");
    detail.textContent = result.detail;
    detail.className = "flash door-result-detail flash-" +
      { green: "success", amber: "info", red: "error" }[result.colour];
    if (overrideButton) {
      overrideButton.hidden = !result.overridable;
    }
    overlay.dataset.colour = result.colour;
    overlay.hidden = false;
    mark("door-result");
    overlay.focus();
    window.clearTimeout(resultTimer);
    if (stream && !result.overridable) {
      resultTimer = window.setTimeout(nextPerson, RESULT_MS);
    }
  }

  function nextPerson() {
    window.clearTimeout(resultTimer);
    overlay.hidden = true;
    busy = false;
    if (stream) {
      cameraButton.focus();  // focus stays on something visible
    } else {
      var search = document.getElementById("door-q");
      if (search) {
        search.focus();
      }
    }
  }

  // --- the camera ------------------------------------------------------------------------------

  var decoderReady = null;

  /* Once per page, as soon as the page is there: the network may be gone when the camera is
     started. */
  function loadDecoder() {
    decoderReady = decoderReady || findDecoder();
    decoderReady.catch(function () {
      decoderReady = null;  // try again at the next start
    });
    return decoderReady;
  }

  function findDecoder() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0) {
          detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return;
        }
        return loadJsQR();
      }, loadJsQR);
    }
    return loadJsQR();
  }

  function loadJsQR() {
    if (window.jsQR) {
      decode = window.jsQR;
      return Promise.resolve();
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = data.decoderUrl;
      script.onload = function () {
        decode = window.jsQR;
        resolve();
      };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function readFrame() {
    if (!stream || busy || video.readyState < 2) {
      return Promise.resolve(null);
    }
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      });
    }
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) {
      return Promise.resolve(null);
    }
    canvas = canvas || document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    var pixels = context.getImageData(0, 0, width, height);
    var found = decode(pixels.data, width, height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(found ? found.data : null);
  }

  function tick() {
    readFrame().then(function (code) {
      if (code) {
        seen(code);
      }
    }, function () { /* a frame the detector could not read */ }).then(function () {
      if (stream) {
        frameTimer = window.setTimeout(tick, FRAME_MS);
      }
    });
  }

  function seen(code) {
    var now = Date.now();
    if (code === lastCode && now - lastCodeAt < SAME_CODE_MS) {
      return;
    }
    lastCode = code;
    lastCodeAt = now;
    busy = true;
    mark("door-scan");
    send({ code: code, scanned_at: new Date(now).toISOString(), day: daySelect.value }, false);
  }

  function startCamera() {
    mark("door-camera");
    statusLine.textContent = data.textLooking;
    var asked = { video: { facingMode: "environment" }, audio: false };
    Promise.all([navigator.mediaDevices.getUserMedia(asked), loadDecoder()]).then(
      function (answers) {
        stream = answers[0];
        video.srcObject = stream;
        videoBox.hidden = false;
        cameraButton.setAttribute("aria-pressed", "true");
        cameraButton.querySelector("[data-label]").textContent = data.textStop;
        return video.play();
      }
    ).then(function () {
      busy = false;
      tick();
    }, function () {
      stopCamera();
      statusLine.textContent = data.textNoCamera;
    });
  }

  function stopCamera() {
    window.clearTimeout(frameTimer);
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    stream = null;
    video.srcObject = null;
    videoBox.hidden = true;
    cameraButton.setAttribute("aria-pressed", "false");
    cameraButton.querySelector("[data-label]").textContent = data.textStart;
    statusLine.textContent = "";
  }

  // --- wiring ----------------------------------------------------------------------------------

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    scanner.hidden = false;
    loadDecoder();
    cameraButton.addEventListener("click", function () {
      if (stream) {
        stopCamera();
      } else {
        startCamera();
      }
    });
  }
  nextLink.addEventListener("click", function (event) {
    // A result shown after a scan: back to scanning (or to the search) on this very page.
    if (overlay.dataset.colour) {
      event.preventDefault();
      nextPerson();
    }
  });
  if (overrideButton) {
    overrideButton.addEventListener("click", function () {
      if (lastScan) {
        window.clearTimeout(resultTimer);
        send(lastScan, true);
      }
    });
  }
  if (!overlay.hidden) {
    overlay.focus();
  }
  window.addEventListener("online", flush);
  window.setInterval(flush, RETRY_MS);
  flush();
}());
