import factory
from django.contrib.auth import get_user_model

from assistants.models import KnowledgeArticle
from tickets import services
from tickets.models import CustomerProfile

User = get_user_model()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"customer{n}@example.com")
    email = factory.LazyAttribute(lambda u: u.username)
    first_name = factory.Faker("first_name")
    password = factory.django.Password("pass12345")


class CustomerFactory(UserFactory):
    profile = factory.RelatedFactory("tests.factories.CustomerProfileFactory", factory_related_name="user")


class CustomerProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerProfile

    is_premium = False


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"agent{n}@example.com")
    is_staff = True


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeArticle

    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    body = "Some helpful text."
    published = True


def open_ticket(customer=None, subject="My parcel is late", body="Where is my parcel?", **kwargs):
    """A ticket opened the way the portal opens one (through the service)."""
    return services.ticket_open(customer=customer or CustomerFactory(), subject=subject, body=body, **kwargs)
