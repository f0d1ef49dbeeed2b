"""Demo data: staff, customers, a knowledge base for a fictional product, tickets. Idempotent."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from assistants.models import KnowledgeArticle
from tickets import services
from tickets.models import CustomerProfile, Ticket

User = get_user_model()
PASSWORD = "demo12345"

ARTICLES = [
    (
        "Tracking a parcel",
        "tracking,parcel,status",
        "Open the Parcelly app and tap Track, then enter the tracking number from your confirmation email. "
        "The map shows where the parcel is and the expected delivery window. Tracking starts within two hours "
        "of the label being scanned at the depot.",
    ),
    (
        "My parcel is late",
        "late,delay,parcel",
        "Most late parcels arrive within two business days of the expected date. If the tracking page has not "
        "changed for three business days, reply on your ticket with the tracking number and we will open an "
        "investigation with the carrier.",
    ),
    (
        "How refunds work",
        "refund,billing,money",
        "Refunds go back to the original payment card within 5 business days after we approve them. You will "
        "get an email when the refund is issued. Bank processing can add up to 3 more days.",
    ),
    (
        "Changing the delivery address",
        "address,delivery,change",
        "You can change the delivery address until the parcel leaves the depot: open the parcel in the app, "
        "tap Change address and confirm. After it has left the depot, ask the driver to leave it at a safe "
        "place or pick it up at a Parcelly point.",
    ),
    (
        "Resetting your password",
        "password,login,account",
        "On the login page choose Forgot password and enter your email. The reset link is valid for one hour. "
        "If no email arrives, check your spam folder or ask us to resend it.",
    ),
    (
        "Damaged parcel",
        "damaged,broken,claim",
        "Take photos of the parcel and its contents and attach them to your ticket within 7 days of delivery. "
        "We file the claim with the carrier and reply with the outcome, usually within 10 business days.",
    ),
    (
        "Delivery to a Parcelly point",
        "pickup,point,locker",
        "Choose Deliver to a Parcelly point at checkout. Parcels wait at the point for 7 days; you get a pickup "
        "code by SMS and email. Bring the code and an ID.",
    ),
    (
        "Parcelly Plus subscription",
        "plus,premium,subscription,billing",
        "Parcelly Plus costs 4.99 per month and includes free next-day delivery, priority support and "
        "extended 30-day pickup at Parcelly points. Cancel any time under Account > Subscription.",
    ),
    (
        "Invoices and receipts",
        "invoice,receipt,billing,vat",
        "Invoices are in the app under Account > Invoices, as PDF files with VAT. Business customers can add "
        "a company name and VAT number before paying.",
    ),
    (
        "Sending a parcel abroad",
        "international,customs,abroad",
        "International parcels need a customs declaration: fill it in the app when you buy the label. "
        "Delivery takes 3 to 7 business days within Europe. Duties are paid by the receiver.",
    ),
    (
        "Missed delivery",
        "missed,redelivery,driver",
        "If the driver missed you, the parcel goes to the nearest Parcelly point the next business day. "
        "You can also book a free redelivery in the app from the tracking page.",
    ),
    (
        "Deleting your account",
        "account,delete,privacy,gdpr",
        "Go to Account > Privacy > Delete account. We delete your personal data within 30 days, except "
        "invoices that the law requires us to keep.",
    ),
]


class Command(BaseCommand):
    help = "Create demo users, knowledge-base articles and tickets (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        lead = self._staff("lead@example.com", "Lena", superuser=False, group="Support lead")
        agent = self._staff("agent@example.com", "Arjun", superuser=False, group="Support agent")
        alice = self._customer("alice@example.com", "Alice", premium=True)
        bob = self._customer("bob@example.com", "Bob", premium=False)
        for title, tags, body in ARTICLES:
            slug = title.lower().replace(" ", "-").replace("'", "")
            KnowledgeArticle.objects.update_or_create(slug=slug, defaults={"title": title, "tags": tags, "body": body})

        if not Ticket.objects.filter(customer__in=[alice, bob]).exists():
            services.ticket_open(
                customer=alice,
                subject="Refund for a cancelled order",
                body="I cancelled order 5521 last week. When will the refund reach my card?",
            )
            services.ticket_open(
                customer=bob,
                subject="Parcel stuck",
                body="My parcel has not moved for four days. Tracking number PX-118822. Is it late?",
            )
            services.ticket_open(
                customer=bob,
                subject="I want a person",
                body="Your bot is useless, I want to talk to a human about my damaged parcel.",
            )
            drafted = services.ticket_open(
                customer=alice, subject="Change address", body="Can I still change the delivery address for PX-220019?"
            )
            services.ticket_update(ticket=drafted, by=agent, ai_mode=Ticket.AIMode.DRAFT, assignee=agent)
            solved = services.ticket_open(
                customer=alice, subject="Password reset email", body="The reset email never arrived."
            )
            services.staff_reply(ticket=solved, staff=agent, body="I resent the link; it is valid for one hour.")
            services.staff_reply(ticket=solved, staff=agent, body="Customer confirmed by phone.", internal=True)
            services.ticket_update(ticket=solved, by=agent, status=Ticket.Status.RESOLVED)
            solved.refresh_from_db()
            services.ticket_rate(ticket=solved, customer=alice, rating=Decimal("4.5"), comment="Quick, thanks!")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {lead.email}, {agent.email}, {alice.email}, {bob.email} (password {PASSWORD})"
            )
        )

    def _staff(self, email, name, *, superuser, group):
        user, created = User.objects.get_or_create(
            username=email, defaults={"email": email, "first_name": name, "is_staff": True, "is_superuser": superuser}
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        group_obj = Group.objects.filter(name=group).first()
        if group_obj:
            user.groups.add(group_obj)
        return user

    def _customer(self, email, name, *, premium):
        user, created = User.objects.get_or_create(username=email, defaults={"email": email, "first_name": name})
        if created:
            user.set_password(PASSWORD)
            user.save()
        CustomerProfile.objects.update_or_create(user=user, defaults={"is_premium": premium, "language": "en"})
        return user
