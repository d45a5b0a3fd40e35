from nkhr_events.events.history import import_history
from nkhr_events.extensions import db


def test_history_page_lists_the_imported_conferences(app, client):
    with app.app_context():
        import_history()
        db.session.commit()
    page = client.get("/history").get_data(as_text=True)
    assert "February 29 – March 2, 2004" in page
    assert "Chatham House" in page


def test_staff_home_needs_sign_in_then_shows_events(client, auth):
    assert client.get("/manage/").status_code == 302
    auth.organizer()
    assert "New event" in client.get("/manage/").get_data(as_text=True)
