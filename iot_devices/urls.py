from django.urls import path  # noqa: F401 - endpoints arrive with this app's issue

urlpatterns: list = []
