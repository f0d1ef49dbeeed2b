"""Customer portal views (to be completed: open, reply, rate, live updates)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from tickets.models import Ticket


@login_required
def ticket_list(request):
    tickets = Ticket.objects.visible_to(request.user).filter(customer=request.user)
    return render(request, "portal/tickets.html", {"tickets": tickets})


@login_required
def ticket(request, pk: int):
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user).filter(customer=request.user), pk=pk)
    return render(request, "portal/ticket.html", {"ticket": ticket, "messages_": ticket.thread.messages.public()})
