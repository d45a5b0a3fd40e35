/* Passkeys (WebAuthn) on the two-factor pages. Progressive enhancement: the page works with
   codes alone; this script only shows the passkey parts where the browser offers passkeys,
   and talks JSON to the server (the CSRF token comes from the form's data attribute). */
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "");
          error.field = data.field || null;
          throw error;
        }
        return data;
      });
    });
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBytes(c.id); });
    return options;
  }

  function registrationAnswer(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        attestationObject: toText(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : []
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
  }

  function authenticationAnswer(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        authenticatorData: toText(response.authenticatorData),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
  }

  function say(root, text) {
    var status = root.querySelector("#passkey-status");
    if (status) { status.textContent = text; }
  }

  function signIn(root) {
    var button = root.querySelector("[data-passkey-start]");
    button.addEventListener("click", function () {
      button.disabled = true;
      say(root, "");
      var csrf = root.getAttribute("data-csrf");
      post(root.getAttribute("data-options-url"), csrf)
        .then(function (options) {
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          return post(root.getAttribute("data-verify-url"), csrf,
                      { credential: authenticationAnswer(credential) });
        })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (error) {
          button.disabled = false;
          var ours = error && error.name === "Error" && error.message;
          say(root, ours || root.getAttribute("data-failed"));
        });
    });
  }

  function add(form) {
    var codeInput = form.querySelector("#passkey-code");
    var codeError = form.querySelector("#passkey-code-error");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var csrf = form.getAttribute("data-csrf");
      button.disabled = true;
      say(form, "");
      codeError.hidden = true;
      codeInput.removeAttribute("aria-invalid");
      post(form.getAttribute("data-options-url"), csrf, { code: codeInput.value })
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          return post(form.getAttribute("data-verify-url"), csrf, {
            name: form.querySelector("#passkey-name").value,
            credential: registrationAnswer(credential)
          });
        })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (error) {
          button.disabled = false;
          var message = (error && error.message) || form.getAttribute("data-failed");
          if (error && error.field === "code") {
            codeError.textContent = message;
            codeError.hidden = false;
            codeInput.setAttribute("aria-invalid", "true");
            codeInput.focus();
          } else {
            if (error && error.name && error.name !== "Error") {
              message = form.getAttribute("data-failed");
            }
            say(form, message);
          }
        });
    });
  }

  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) { return; }
  document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) {
    note.hidden = true;
  });
  document.querySelectorAll("[data-passkey]").forEach(function (root) {
    root.hidden = false;
    if (root.getAttribute("data-passkey") === "sign-in") { signIn(root); } else { add(root); }
  });
}());
