from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The host's user: Django's AbstractUser plus a field importops does not know."""

    nickname = models.CharField(max_length=100, blank=True)
