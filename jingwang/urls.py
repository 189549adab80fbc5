from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from jingwang.accounts.views import home
from jingwang.api import api
from jingwang.incidents.views_callbacks import survey


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy", never a 500
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("s/<str:token>", survey, name="survey"),  # the SMS survey: short, public
    path("accounts/", include("jingwang.accounts.urls")),
    path("audit/", include("jingwang.audit.urls")),
    path("territory/", include("jingwang.territory.urls")),
    path("people/", include("jingwang.people.urls")),
    path("incidents/", include("jingwang.incidents.urls")),
    path("disputes/", include("jingwang.disputes.urls")),
    path("sms/", include("jingwang.sms.urls")),
    path("settings/", include("jingwang.core.urls")),
    path("api/v1/", api.urls),
]

handler404 = "jingwang.accounts.errors.not_found"
handler500 = "jingwang.accounts.errors.server_error"
