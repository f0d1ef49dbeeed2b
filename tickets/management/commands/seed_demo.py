"""Demo data: staff, customers, a knowledge base for a fictional product, tickets. Idempotent."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from assistants import knowledge
from assistants.models import KnowledgeArticle
from tickets import services
from tickets.demo_knowledge import ARTICLES
from tickets.models import CustomerProfile, Ticket

User = get_user_model()
PASSWORD = "demo12345"


class Command(BaseCommand):
    help = "Create demo users, knowledge-base articles and tickets (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        lead = self._staff("lead@example.com", "Lena", superuser=False, group="Support lead")
        agent = self._staff("agent@example.com", "Arjun", superuser=False, group="Support agent")
        alice = self._customer("alice@example.com", "Alice", premium=True)
        bob = self._customer("bob@example.com", "Bob", premium=False)
        for a in ARTICLES:
            fields = {
                "title": a["title"],
                "tags": a.get("tags", ""),
                "body": a["body"],
                "category": a.get("category", ""),
                "language": a.get("language", "en"),
                "translation_group": a.get("group", ""),
            }
            article = KnowledgeArticle.objects.filter(slug=a["slug"]).first()
            if article is None:
                KnowledgeArticle.objects.create(slug=a["slug"], **fields)
            elif any(getattr(article, k) != v for k, v in fields.items()):  # unchanged articles keep their index
                KnowledgeArticle.objects.filter(pk=article.pk).update(**fields, updated_at=timezone.now())
        # Passages and embeddings now, so the demo answers before the worker's first task.
        for pk in knowledge.articles_to_index():
            knowledge.article_index(article_id=pk)

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
