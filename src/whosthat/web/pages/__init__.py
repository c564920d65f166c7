"""Server-rendered HTML pages, one module per area; each page calls the services (the same code the
JSON API uses), parses its form, and renders a Jinja2 template from web/templates. common.py holds
what they share, including the one way a page shows an error."""

from whosthat.web.pages import (
    apikeys,
    attendance,
    audit,
    consent,
    corrections,
    employee,
    kiosk,
    kiosks,
    language,
    people,
    reviews,
    schedules,
    signin,
    timesheets,
)

PAGE_ROUTERS = [
    signin.router,
    people.router,
    consent.router,
    attendance.router,
    corrections.router,
    reviews.router,
    timesheets.router,
    schedules.router,
    audit.router,
    apikeys.router,
    kiosk.router,
    kiosks.router,
    employee.router,
    language.router,
]
