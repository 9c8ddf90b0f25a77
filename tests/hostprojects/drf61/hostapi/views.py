"""The host's own API, before importops: versioned by namespace, paginated, throttled, with its
own exception handler."""

from accounts.models import User
from rest_framework import generics, serializers, views
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


def exception_handler(exc, context):
    status = getattr(exc, "status_code", 500)
    return Response({"hostError": type(exc).__name__, "detail": str(exc)}, status=status)


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["username", "nickname"]


class Users(generics.ListAPIView):
    queryset = User.objects.filter(username__in=["admin", "grace", "linus"]).order_by("username")
    serializer_class = UserSerializer


class Version(views.APIView):
    permission_classes = [AllowAny]  # anonymous: the host's AnonRateThrottle applies

    def get(self, request):
        return Response({"version": request.version, "unicode": "Zoë"})


class Echo(views.APIView):
    def post(self, request):
        return Response({"got": dict(request.data.items())})
