"""The demo knowledge base of Parcelly, a fictional parcel service: articles in Markdown, grouped into
help-center categories, some translated (articles that share a `group` are translations of one
another). seed_demo loads it; bench/answer_quality.py evaluates the assistant against it.
"""

TRACKING = "Tracking and delivery"
SENDING = "Sending parcels"
BILLING = "Account and billing"
BUSINESS = "Business accounts"
PROBLEMS = "Problems and claims"
SECURITY = "Privacy and security"

ARTICLES = [
    {
        "slug": "tracking-a-parcel",
        "title": "Tracking a parcel",
        "category": TRACKING,
        "tags": "tracking,parcel,status,where",
        "body": """Follow your parcel from the depot to your door.

## Track in the app
Open the Parcelly app and tap **Track**, then enter the tracking number from your confirmation email.
The map shows where the parcel is and the expected delivery window.

## When tracking shows nothing yet
Tracking starts within two hours of the label being scanned at the depot. Until then the tracking page
says *Label created*; that is normal.

## Delivery notifications
Turn on notifications under Account > Notifications to get a push message or an SMS when the driver is
on the way.""",
    },
    {
        "slug": "my-parcel-is-late",
        "title": "My parcel is late",
        "category": TRACKING,
        "tags": "late,delay,parcel,waiting",
        "body": "Most late parcels arrive within two business days of the expected date. If the tracking page "
        "has not changed for three business days, reply on your ticket with the tracking number and we will "
        "open an investigation with the carrier.",
    },
    {
        "slug": "how-refunds-work",
        "title": "How refunds work",
        "category": BILLING,
        "tags": "refund,billing,money back,reimbursement",
        "body": """## Refund policy
We refund the shipping price when a parcel is lost, arrives more than three days late on a next-day
service, or when you cancel a label before it is scanned.

## How long a refund takes
Refunds go back to the original payment card within **5 business days** after we approve them. You will
get an email when the refund is issued. Bank processing can add up to 3 more days.

## Cancelling a label for a refund
Open the parcel in the app and tap **Cancel label**. Labels that were already scanned at the depot
cannot be cancelled.""",
    },
    {
        "slug": "changing-the-delivery-address",
        "title": "Changing the delivery address",
        "category": TRACKING,
        "tags": "address,delivery,change,redirect",
        "body": "You can change the delivery address until the parcel leaves the depot: open the parcel in the "
        "app, tap **Change address** and confirm.\n\nAfter it has left the depot the address can no longer "
        "change; ask the driver to leave it at a safe place, or have it sent to a Parcelly point instead.",
    },
    {
        "slug": "resetting-your-password",
        "title": "Resetting your password",
        "category": SECURITY,
        "tags": "password,login,account,sign in",
        "body": "On the login page choose **Forgot password** and enter your email. The reset link is valid for "
        "one hour.\n\nIf no email arrives, check your spam folder, or ask us to resend it.",
    },
    {
        "slug": "damaged-parcel",
        "title": "Damaged parcel",
        "category": PROBLEMS,
        "tags": "damaged,broken,claim,crushed",
        "body": """## Report the damage
Take photos of the parcel, the packaging and its contents, and attach them to your ticket within
**7 days** of delivery. Keep the packaging until the claim is decided.

## What happens next
We file the claim with the carrier and reply with the outcome, usually within 10 business days. An
approved claim pays the value of the contents up to 500 euros.""",
    },
    {
        "slug": "delivery-to-a-parcelly-point",
        "title": "Delivery to a Parcelly point",
        "category": TRACKING,
        "tags": "pickup,point,locker,collect",
        "body": "Choose **Deliver to a Parcelly point** at checkout. Parcels wait at the point for 7 days; you "
        "get a pickup code by SMS and email. Bring the code and an ID to collect the parcel.",
    },
    {
        "slug": "parcelly-plus-subscription",
        "title": "Parcelly Plus subscription",
        "category": BILLING,
        "tags": "plus,premium,subscription,membership",
        "body": """Parcelly Plus includes free next-day delivery, priority support and 30-day pickup at
Parcelly points.

## Price
Plus costs 4.99 euros a month, or 49 euros a year when you pay annually.

## Cancel Plus
Cancel any time under Account > Subscription. Plus stays active until the end of the period you paid
for; there is no refund for the rest of a yearly period.""",
    },
    {
        "slug": "invoices-and-receipts",
        "title": "Invoices and receipts",
        "category": BILLING,
        "tags": "invoice,receipt,billing,vat,bill",
        "body": "Every invoice is in the app under Account > Invoices, as a PDF with VAT that you can download "
        "or print.\n\nBusiness customers can add a company name and VAT number under Account > Billing "
        "details before paying; invoices already issued cannot be changed.",
    },
    {
        "slug": "sending-a-parcel-abroad",
        "title": "Sending a parcel abroad",
        "category": SENDING,
        "tags": "international,customs,abroad,export",
        "body": "International parcels need a customs declaration: fill it in the app when you buy the label. "
        "Delivery takes 3 to 7 business days within Europe and 7 to 14 days elsewhere. Duties and import "
        "taxes are paid by the receiver.",
    },
    {
        "slug": "missed-delivery",
        "title": "Missed delivery",
        "category": TRACKING,
        "tags": "missed,redelivery,driver,not home",
        "body": "If the driver missed you, the parcel goes to the nearest Parcelly point the next business day. "
        "You can also book a free redelivery from the tracking page in the app, up to 5 days after the "
        "first attempt.",
    },
    {
        "slug": "deleting-your-account",
        "title": "Deleting your account",
        "category": SECURITY,
        "tags": "account,delete,privacy,gdpr,close account",
        "body": "Go to Account > Privacy > **Delete account**. We delete your personal data within 30 days, "
        "except invoices that the law requires us to keep for ten years.",
    },
    {
        "slug": "team-members",
        "title": "Adding people to a business account",
        "category": BUSINESS,
        "tags": "team,seats,users,members,roles,invite,viewer",
        "body": """A business account can have as many team members as its plan has seats.

## Invite someone
Go to Business > Team and choose **Invite**. The person gets an email and joins once they accept.

## Roles
- **Admin**: manages billing and the team.
- **Shipper**: buys labels and books pickups.
- **Viewer**: sees parcels and invoices but cannot buy or change anything; viewers do not use a seat.""",
    },
    {
        "slug": "billing-period",
        "title": "Paying monthly or yearly",
        "category": BUSINESS,
        "tags": "billing period,monthly,annual,yearly,plan",
        "body": "Business plans are billed every month by default. Switch to yearly billing under Business > "
        "Plan > Billing period and pay 10 months for 12.\n\nA switch takes effect at the next renewal; "
        "going back from yearly to monthly is possible at the end of the year you paid for.",
    },
    {
        "slug": "recurring-pickups",
        "title": "Recurring pickups and their invoices",
        "category": BUSINESS,
        "tags": "recurring,pickup,schedule,weekly,stop,pause",
        "body": """Business accounts can book a driver to collect parcels on the same days every week.

## Set up a recurring pickup
Go to Business > Pickups > **New schedule**, choose the days and a time window.

## Stop or pause it
Open the schedule and choose **Pause** or **End schedule**. Ending a schedule also stops its recurring
invoice from the next month; pickups already done are still billed.""",
    },
    {
        "slug": "parcelly-app",
        "title": "The Parcelly apps for Android and iPhone",
        "category": SENDING,
        "tags": "app,android,iphone,ios,install,mobile",
        "body": "The Parcelly app is free on Google Play and the App Store; it needs Android 10 or iOS 16 or "
        "newer.\n\nParcelly point partners use a separate **Parcelly Agent** app to hand out and accept parcels; "
        "partners get their login from their area manager.",
    },
    {
        "slug": "fake-messages",
        "title": "Fake messages and fraud protection",
        "category": SECURITY,
        "tags": "fraud,scam,phishing,sms,fake,suspicious",
        "body": "Parcelly never asks you to pay customs or a delivery fee by SMS or by a link in an email. If you "
        "get such a message, do not click it: forward it to abuse@parcelly.example and delete it.\n\nPayments "
        "in the app are protected: if a seller never ships, open a claim within 30 days and we refund you.",
    },
    {
        "slug": "printing-a-label",
        "title": "Printing a shipping label",
        "category": SENDING,
        "tags": "label,print,printer,pdf,qr code",
        "body": "After paying, download the label as a PDF and print it on A4 or on a 4x6 label printer. The "
        "label shows a barcode and the tracking number in plain text.\n\nNo printer? Choose **QR code** "
        "instead and a Parcelly point prints the label for you.",
    },
    {
        "slug": "size-and-weight",
        "title": "Size and weight limits",
        "category": SENDING,
        "tags": "size,weight,dimensions,heavy,kg",
        "body": "A parcel may weigh up to 31.5 kg and measure at most 120 x 60 x 60 cm. Heavier or bigger items "
        "need a freight booking from a business account. The price depends on the size class you choose: "
        "S, M, L or XL.",
    },
    {
        "slug": "prohibited-items",
        "title": "What you cannot send",
        "category": SENDING,
        "tags": "prohibited,forbidden,dangerous,batteries,allowed",
        "body": "You cannot send cash, weapons, fireworks, living animals or dangerous goods such as gas "
        "cylinders. Lithium batteries are accepted only inside the device they power. A parcel with "
        "forbidden contents is returned to the sender at their cost.",
    },
    {
        "slug": "change-email-or-phone",
        "title": "Changing your email address or phone number",
        "category": SECURITY,
        "tags": "email,phone,contact details,profile,mobile number",
        "body": "Go to Account > Profile and edit your email address or phone number. We send a code to the new "
        "address or number to confirm it; the change applies once you enter the code.",
    },
    {
        "slug": "two-step-login",
        "title": "Two-step login",
        "category": SECURITY,
        "tags": "2fa,two-factor,security,code,authenticator",
        "body": "Turn on two-step login under Account > Security. After your password you then enter a code from "
        "an authenticator app. Lost your phone? Use one of the backup codes you saved when you turned it on.",
    },
    {
        "slug": "payment-methods",
        "title": "Payment methods",
        "category": BILLING,
        "tags": "payment,card,paypal,pay,credit card",
        "body": "You can pay with a credit or debit card, PayPal, Apple Pay or Google Pay. Business accounts can "
        "also pay by bank transfer against a monthly invoice. Change your saved card under Account > Payment.",
    },
    {
        "slug": "delivery-times",
        "title": "Delivery times and next-day delivery",
        "category": TRACKING,
        "tags": "delivery time,next day,how long,express,speed",
        "body": "Standard parcels arrive in 2 to 3 business days within the country. Next-day delivery arrives "
        "the next business day when you drop the parcel off before 6 pm. We deliver Monday to Saturday.",
    },
    {
        "slug": "lost-parcel",
        "title": "Lost parcel",
        "category": PROBLEMS,
        "tags": "lost,missing,never arrived,disappeared",
        "body": "A parcel counts as lost when tracking has not moved for 10 business days. Tell us on your "
        "ticket; we search for it with the carrier, and if it is not found within 5 more days we pay its "
        "value up to 500 euros and refund the shipping price.",
    },
    {
        "slug": "returning-a-parcel",
        "title": "Returning a parcel to the sender",
        "category": SENDING,
        "tags": "return,send back,returns label,retour",
        "body": "To send a parcel back, open it in the app and choose **Return**. If the shop offers free returns "
        "you get a return label or QR code at no cost; otherwise you pay a normal label. Drop it at any "
        "Parcelly point.",
    },
    {
        "slug": "shop-integration",
        "title": "Connecting your online shop",
        "category": BUSINESS,
        "tags": "api,integration,shopify,woocommerce,webhook,api key",
        "body": "Business accounts can create labels straight from their shop. Plugins exist for Shopify and "
        "WooCommerce; for anything else use our REST API. Create an API key under Business > Developers; "
        "webhooks tell your shop when a parcel's status changes.",
    },
    # --- translations (same group as the English article) -----------------------------------
    {
        "slug": "rueckerstattungen",
        "group": "how-refunds-work",
        "language": "de",
        "title": "So funktionieren Rückerstattungen",
        "category": BILLING,
        "tags": "rückerstattung,geld zurück,erstattung",
        "body": """## Erstattungsregeln
Wir erstatten den Versandpreis, wenn ein Paket verloren geht, bei einem Next-Day-Versand mehr als drei
Tage zu spät ankommt, oder wenn Sie ein Etikett stornieren, bevor es gescannt wurde.

## Wie lange eine Rückerstattung dauert
Rückerstattungen gehen innerhalb von **5 Werktagen** nach unserer Freigabe auf die ursprüngliche Karte
zurück. Sie erhalten eine E-Mail, sobald die Erstattung veranlasst ist. Die Bank kann bis zu 3 weitere
Tage brauchen.""",
    },
    {
        "slug": "sendungsverfolgung",
        "group": "tracking-a-parcel",
        "language": "de",
        "title": "Ein Paket verfolgen",
        "category": TRACKING,
        "tags": "sendungsverfolgung,paket,status,wo",
        "body": """## In der App verfolgen
Öffnen Sie die Parcelly-App, tippen Sie auf **Verfolgen** und geben Sie die Sendungsnummer aus Ihrer
Bestätigungs-E-Mail ein. Die Karte zeigt, wo das Paket ist und wann es ankommen soll.

## Wenn noch nichts angezeigt wird
Die Verfolgung beginnt innerhalb von zwei Stunden, nachdem das Etikett im Depot gescannt wurde.""",
    },
    {
        "slug": "lieferadresse-aendern",
        "group": "changing-the-delivery-address",
        "language": "de",
        "title": "Die Lieferadresse ändern",
        "category": TRACKING,
        "tags": "adresse,lieferadresse,ändern,umleiten",
        "body": "Sie können die Lieferadresse ändern, bis das Paket das Depot verlässt: Öffnen Sie das Paket in "
        "der App, tippen Sie auf **Adresse ändern** und bestätigen Sie.\n\nDanach lässt sich die Adresse nicht "
        "mehr ändern; bitten Sie den Fahrer, es an einem sicheren Ort abzulegen, oder lassen Sie es an einen "
        "Parcelly-Punkt schicken.",
    },
    {
        "slug": "beschaedigtes-paket",
        "group": "damaged-parcel",
        "language": "de",
        "title": "Beschädigtes Paket",
        "category": PROBLEMS,
        "tags": "beschädigt,kaputt,schaden,reklamation",
        "body": "Fotografieren Sie das Paket, die Verpackung und den Inhalt und hängen Sie die Fotos innerhalb von "
        "**7 Tagen** nach der Zustellung an Ihr Ticket an. Wir reichen die Reklamation beim Zusteller ein und "
        "melden uns meist innerhalb von 10 Werktagen mit dem Ergebnis.",
    },
    {
        "slug": "passwort-zuruecksetzen",
        "group": "resetting-your-password",
        "language": "de",
        "title": "Passwort zurücksetzen",
        "category": SECURITY,
        "tags": "passwort,anmelden,konto,login",
        "body": "Wählen Sie auf der Anmeldeseite **Passwort vergessen** und geben Sie Ihre E-Mail-Adresse ein. Der "
        "Link ist eine Stunde gültig. Kommt keine E-Mail an, sehen Sie im Spam-Ordner nach oder bitten Sie uns, "
        "sie erneut zu senden.",
    },
    {
        "slug": "remboursements",
        "group": "how-refunds-work",
        "language": "fr",
        "title": "Comment fonctionnent les remboursements",
        "category": BILLING,
        "tags": "remboursement,argent,rembourser",
        "body": "Les remboursements sont versés sur la carte utilisée pour le paiement dans un délai de **5 jours "
        "ouvrés** après notre accord. Vous recevez un e-mail lorsque le remboursement est émis ; la banque peut "
        "ajouter jusqu'à 3 jours.",
    },
    {
        "slug": "suivre-un-colis",
        "group": "tracking-a-parcel",
        "language": "fr",
        "title": "Suivre un colis",
        "category": TRACKING,
        "tags": "suivi,colis,statut,où",
        "body": "Ouvrez l'application Parcelly, touchez **Suivre** et saisissez le numéro de suivi de votre e-mail "
        "de confirmation. La carte montre où se trouve le colis et le créneau de livraison prévu. Le suivi "
        "commence dans les deux heures après le scan de l'étiquette au dépôt.",
    },
    {
        "slug": "colis-endommage",
        "group": "damaged-parcel",
        "language": "fr",
        "title": "Colis endommagé",
        "category": PROBLEMS,
        "tags": "endommagé,cassé,abîmé,réclamation",
        "body": "Photographiez le colis, l'emballage et le contenu et joignez les photos à votre ticket dans les "
        "**7 jours** suivant la livraison. Nous déposons la réclamation auprès du transporteur et vous "
        "répondons en général sous 10 jours ouvrés.",
    },
    {
        "slug": "reembolsos",
        "group": "how-refunds-work",
        "language": "es",
        "title": "Cómo funcionan los reembolsos",
        "category": BILLING,
        "tags": "reembolso,devolución del dinero,dinero",
        "body": "Los reembolsos se abonan en la tarjeta con la que pagó en un plazo de **5 días hábiles** después "
        "de nuestra aprobación. Recibirá un correo cuando se emita el reembolso; el banco puede tardar hasta 3 "
        "días más.",
    },
    {
        "slug": "seguir-un-paquete",
        "group": "tracking-a-parcel",
        "language": "es",
        "title": "Seguir un paquete",
        "category": TRACKING,
        "tags": "seguimiento,paquete,estado,dónde",
        "body": "Abra la aplicación Parcelly, toque **Seguir** e introduzca el número de seguimiento de su correo "
        "de confirmación. El mapa muestra dónde está el paquete y la franja de entrega prevista.",
    },
]
