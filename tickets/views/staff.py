"""Staff workspace views (to be completed: inbox filters, ticket page, HTMX partials)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, render

from tickets.models import Ticket


@staff_member_required
def inbox(request):
    tickets = Ticket.objects.select_related("customer", "assignee")[:25]
    return render(request, "staff/inbox.html", {"tickets": tickets})


@staff_member_required
def ticket(request, pk: int):
    ticket = get_object_or_404(Ticket.objects.select_related("thread", "customer"), pk=pk)
    return render(request, "staff/ticket.html", {"ticket": ticket, "messages_": ticket.thread.messages.all()})
