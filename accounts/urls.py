from django.urls import path
from rest_framework.routers import SimpleRouter

from . import care_views, security_views, views

router = SimpleRouter()
router.register("care-team", care_views.CareTeamViewSet, basename="care-team")
router.register("access-log", care_views.AccessLogViewSet, basename="access-log")
router.register("sessions", security_views.SessionViewSet, basename="auth-sessions")

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="auth-register"),
    path("login/", views.LoginView.as_view(), name="auth-login"),
    path("login/mfa/", security_views.LoginMfaView.as_view(), name="auth-login-mfa"),
    path("mfa/totp/", security_views.TotpView.as_view(), name="auth-mfa-totp"),
    path("mfa/totp/confirm/", security_views.TotpConfirmView.as_view(), name="auth-mfa-totp-confirm"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("current-user/", views.CurrentUserView.as_view(), name="auth-current-user"),
    path("profile/", views.ProfileView.as_view(), name="auth-profile"),
    path("change-password/", views.ChangePasswordView.as_view(), name="auth-change-password"),
    path("verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("resend-verification/", views.ResendVerificationView.as_view(), name="auth-resend-verification"),
    path("password-reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("password-reset/confirm/", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("roles/", views.RoleListView.as_view(), name="auth-roles"),
    path("users/<uuid:user_id>/roles/", views.UserRolesView.as_view(), name="auth-user-roles"),
    path("export/", care_views.ExportView.as_view(), name="auth-export"),
    *router.urls,
]
