import base64
import json
import os

from django.contrib.auth.middleware import RemoteUserMiddleware
from django.http import HttpResponse, JsonResponse


class AppServiceUserMiddleware(RemoteUserMiddleware):
    # App Service authentication names the signed-in user here.
    header = "HTTP_X_MS_CLIENT_PRINCIPAL_NAME"


def home(request):
    if request.user.is_authenticated:
        return HttpResponse(f"<h1 id=hello>Hello, {request.user.username}</h1>")
    return HttpResponse("<h1 id=hello>Hello, anonymous</h1>")


def whoami(request):
    principal = request.headers.get("X-Ms-Client-Principal", "")
    claims = {}
    if principal:
        doc = json.loads(base64.b64decode(principal))
        claims = {c["typ"]: c["val"] for c in doc.get("claims", [])}
        claims["auth_typ"] = doc.get("auth_typ")
    return JsonResponse({
        "user": request.user.username if request.user.is_authenticated else None,
        "name": request.headers.get("X-Ms-Client-Principal-Name"),
        "id": request.headers.get("X-Ms-Client-Principal-Id"),
        "idp": request.headers.get("X-Ms-Client-Principal-Idp"),
        "id_token": bool(request.headers.get("X-Ms-Token-Aad-Id-Token")),
        "claims": claims,
        # What the platform tells the app about its authentication.
        "env": {k: v for k, v in os.environ.items() if k.startswith("WEBSITE_AUTH_")},
    })


def health(request):
    return HttpResponse("ok")
