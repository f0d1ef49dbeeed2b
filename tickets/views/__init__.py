from django.shortcuts import redirect


def home(request):
    """Staff land in the workspace, everyone else in the customer portal."""
    if request.user.is_authenticated and request.user.is_staff:
        return redirect("staff:inbox")
    return redirect("portal:tickets")
