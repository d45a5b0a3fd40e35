"""Staff pages of an edition's archive: the list of its documents and photos, uploads of both,
publishing a photo on the staff member's statement of consent, order, and deletion (asked
first). Every page needs `Permission.EDIT_EVENT` (admins and the event's organizers); anyone
else, and another event's ids, get 404. Every change is audited by the service it calls.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from nkhr_events.accounts.access import Permission, event_for
from nkhr_events.accounts.roles import require_staff
from nkhr_events.errors import DomainError
from nkhr_events.events.models import Event
from nkhr_events.extensions import db
from nkhr_events.programme import archive, archive_forms
from nkhr_events.programme.models import ArchiveDocument, ArchivePhoto
from nkhr_events.validators import show_error, whole_number
from nkhr_events.web import current_actor

bp = require_staff(Blueprint("archive_manage", __name__, url_prefix="/manage"))
PERMISSION = Permission.EDIT_EVENT


@bp.url_value_preprocessor
def _allow_large_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The upload page takes documents far larger than any other form (MAX_CONTENT_LENGTH):
    raised here, before anything reads the body, and only for a signed-in staff member."""
    if endpoint == "archive_manage.index" and current_user.is_authenticated:
        request.max_content_length = archive.MAX_REQUEST_BYTES


def _item(model: type[Any], event: Event, item_id: int) -> Any:
    found = db.session.get(model, item_id)
    if found is None or found.event_id != event.id:
        abort(404)
    return found


def _page(event: Event, document_form: Any = None, photo_form: Any = None,
          notice: str | None = None) -> str:
    return render_template(
        "programme/archive_manage.html",
        event=event,
        documents=archive.documents(event.id),
        photos=archive.photos(event.id),
        document_form=document_form or archive_forms.DocumentForm(formdata=None),
        photo_form=photo_form or archive_forms.PhotoForm(formdata=None),
        action_form=archive_forms.ActionForm(formdata=None),
        kind_labels=archive.KIND_LABELS,
        notice=notice,
    )


@bp.route("/events/<int:event_id>/archive", methods=["GET", "POST"])
def index(event_id: int) -> Response | str | tuple[str, int]:
    """The archive's documents and photos; a POST uploads the one its file field names."""
    event = event_for(event_id, PERMISSION)
    if request.method == "GET":
        return _page(event)
    if "file" in request.files:
        form: Any = archive_forms.DocumentForm()
        upload = archive_forms.upload_of(form.file)
        pages: dict[str, Any] = {"document_form": form}
    elif "photo" in request.files:
        form = archive_forms.PhotoForm()
        upload = archive_forms.upload_of(form.photo)
        pages = {"photo_form": form}
    else:
        abort(400)
    if form.validate_on_submit():
        try:
            _store(event, form, upload)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            return redirect(url_for(".index", event_id=event.id), code=303)
    return _page(event, **pages), 400


def _store(event: Event, form: Any, upload: Any) -> None:
    """Hand the checked form to the service; a missing file is refused like a bad one."""
    field = "file" if isinstance(form, archive_forms.DocumentForm) else "photo"
    if upload is None:
        raise archive.ArchiveRefused(_("Choose a file."), field)
    limit = archive.MAX_DOCUMENT_BYTES if field == "file" else archive.MAX_PHOTO_BYTES
    data = upload.read(limit + 1)
    actor = current_actor()
    if field == "file":
        archive.add_document(event, archive.DocumentInput(
            form.kind.data, form.language.data, form.title.data or "", form.title_ko.data or "",
            form.title_ja.data or "", upload.filename or "", data), actor=actor)
        flash(_("The document is in the archive."), "success")
    else:
        published = bool(form.consent.data)
        archive.add_photo(event, archive.PhotoInput(
            form.caption.data or "", form.caption_ko.data or "", form.caption_ja.data or "",
            data, published), actor=actor)
        flash(_("The photo is published.") if published else
              _("The photo is kept but not published until consent is confirmed."), "success")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """An upload over the page's limit: the archive page again, saying so (the body is not
    read); on the other pages, and for anyone who may not see it, the site's 413 page."""
    event_id = (request.view_args or {}).get("event_id")
    event = None
    if request.endpoint == "archive_manage.index" and isinstance(event_id, int):
        try:
            event = event_for(event_id, PERMISSION)
        except HTTPException:
            event = None
    if event is None:
        return render_template(
            "errors/error.html", code=413, title=_("What you sent is too large"),
            text=_("Please send less data (for example a smaller file) and try again."),
        ), 413
    notice = _("The file is larger than %(size)s MB. Nothing was kept; please send a smaller "
               "file.", size=archive.MAX_DOCUMENT_BYTES // (1024 * 1024))
    return _page(event, notice=notice), 413


@bp.get("/events/<int:event_id>/archive/photos/<int:archive_photo_id>.jpg")
def photo_image(event_id: int, archive_photo_id: int) -> Response:
    """The stored photo, published or not, for the staff list."""
    photo = _item(ArchivePhoto, event_for(event_id, PERMISSION), archive_photo_id)
    response = make_response(photo.data)
    response.headers["Content-Type"] = photo.content_type
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.post("/events/<int:event_id>/archive/photos/<int:archive_photo_id>/consent")
def photo_consent(event_id: int, archive_photo_id: int) -> Response:
    """Publish a photo (the box ticked), or take it off the public page (`withdraw`)."""
    event = event_for(event_id, PERMISSION)
    photo = _item(ArchivePhoto, event, archive_photo_id)
    form = archive_forms.ConsentForm()
    if request.form.get("withdraw"):
        if not archive_forms.ActionForm().validate_on_submit():
            abort(400)
        if archive.withdraw_photo(photo, actor=current_actor()):
            flash(_("The photo is no longer published."), "success")
    elif form.validate_on_submit():
        if archive.confirm_consent(photo, actor=current_actor()):
            flash(_("The photo is published."), "success")
    else:
        flash(_("Tick the box to confirm that everyone recognisable agreed."), "error")
    db.session.commit()
    return redirect(url_for(".index", event_id=event.id, _anchor=f"photo-{photo.id}"), code=303)


@bp.post("/events/<int:event_id>/archive/move")
def move(event_id: int) -> Response:
    """Move a document or photo one place earlier or later."""
    event = event_for(event_id, PERMISSION)
    form = archive_forms.MoveForm()
    item_id = whole_number(form.item_id.data)
    if not form.validate_on_submit() or item_id is None:
        abort(400)
    items = archive.documents(event.id) if form.item.data == "document" else archive.photos(
        event.id)
    if archive.move(items, item_id, form.direction.data == "up", actor=current_actor()):
        db.session.commit()
    anchor = f"{form.item.data}-{item_id}"
    return redirect(url_for(".index", event_id=event.id, _anchor=anchor), code=303)


@bp.route("/events/<int:event_id>/archive/documents/<int:archive_document_id>/delete",
          methods=["GET", "POST"])
def delete_document(event_id: int, archive_document_id: int) -> Response | str:
    event = event_for(event_id, PERMISSION)
    document = _item(ArchiveDocument, event, archive_document_id)
    form = archive_forms.ActionForm()
    if form.validate_on_submit():
        archive.delete_document(document, actor=current_actor())
        db.session.commit()
        flash(_("The document is deleted."), "success")
        return redirect(url_for(".index", event_id=event.id), code=303)
    return render_template("programme/archive_delete.html", event=event, form=form,
                           document=document, photo=None)


@bp.route("/events/<int:event_id>/archive/photos/<int:archive_photo_id>/delete",
          methods=["GET", "POST"])
def delete_photo(event_id: int, archive_photo_id: int) -> Response | str:
    event = event_for(event_id, PERMISSION)
    photo = _item(ArchivePhoto, event, archive_photo_id)
    form = archive_forms.ActionForm()
    if form.validate_on_submit():
        archive.delete_photo(photo, actor=current_actor())
        db.session.commit()
        flash(_("The photo is deleted."), "success")
        return redirect(url_for(".index", event_id=event.id), code=303)
    return render_template("programme/archive_delete.html", event=event, form=form,
                           document=None, photo=photo)
