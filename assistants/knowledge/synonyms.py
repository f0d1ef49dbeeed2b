"""A small synonym table of the support vocabulary of a parcel and billing product: each group of
words (or two-word phrases) that customers use for one thing becomes one concept term, added to
articles and questions alike. Kept general on purpose: no group names an article.
"""

from __future__ import annotations

GROUPS = {
    "refund": "refund refunds refunded reimburse reimbursed reimbursement repay repaid payback chargeback "
    "rückerstattung erstattung erstatten zurückerstattet remboursement rembourser remboursé reembolso "
    "reembolsar devolución|money back|geld zurück|mon argent|dinero de vuelta|devuelven el",
    "parcel": "parcel parcels package packages shipment shipments consignment box paket pakete sendung "
    "colis paquet paquete paquetes envío",
    "invoice": "invoice invoices bill bills billed receipt receipts statement rechnung rechnungen facture "
    "factures factura facturas",
    "year": "yearly annual annually year years jährlich jahr jahres annuel annuelle an année anual año",
    "month": "monthly month months monatlich monat mensuel mois mensual mes",
    "cancel": "cancel cancels cancelled canceled cancellation stop end terminate kill discontinue "
    "unsubscribe kündigen kündigung beenden stornieren annuler résilier cancelar anular",
    "teammate": "colleague colleagues coworker coworkers teammate teammates employee employees staff seat "
    "seats member members kollege kollegen mitarbeiter collègue collègues compañero compañeros",
    "invite": "invite invites invited invitation add adding einladen hinzufügen inviter ajouter invitar añadir",
    "login": "login signin logon anmelden anmeldung connexion connecter iniciar|log in|sign in|get back in|log on",
    "password": "password passwords passcode pasword passwort kennwort contraseña|mot de passe",
    "address": "address addresses adresse anschrift dirección domicilio|new place|new home",
    "phone": "phone mobile cellphone cell telephone smartphone handy telefon téléphone portable teléfono móvil",
    "email": "email e-mail mail emails correo courriel",
    "driver": "driver drivers courier couriers deliverer postman postwoman fahrer zusteller boten "
    "livreur chauffeur repartidor mensajero|delivery guy|delivery man",
    "damaged": "damaged damage broken crushed smashed shattered dented cracked torn pieces beschädigt kaputt "
    "zerdrückt zerbrochen endommagé abîmé cassé roto rota dañado",
    "lost": "lost missing disappeared vanished gone verloren verschwunden perdu disparu perdido",
    "late": "late delayed delay overdue verspätet verspätung spät retard retardé tarde retrasado retraso",
    "point": "locker lockers packstation relais|pickup point|pick-up point|collection point|parcel shop|"
    "pickup shop|parcelly point",
    "collect": "collect collecting pickup fetch abholen récupérer retirer recoger|pick up|pick it up",
    "price": "price prices cost costs costing fee fees charge charges kosten kostet preis prix coûte coût "
    "precio cuesta|how much",
    "customs": "customs duties duty import declaration zoll douane douanes aduana|import tax",
    "abroad": "abroad international overseas foreign ausland étranger extranjero|another country",
    "weight": "weight weigh weighs heavy heavier heaviest kg kilo kilos gewicht schwer poids lourd peso pesa",
    "size": "size sizes dimension dimensions big bigger large length metre meter cm größe groß taille tamaño",
    "print": "print printing printed printer drucken drucker imprimer imprimante imprimir impresora",
    "return": "return returns returning retoure zurücksenden renvoyer retour devolver|send back|send it back",
    "fraud": "fraud scam scams phishing fake suspicious betrug fälschung arnaque fraude estafa",
    "integration": "api integration integrate plugin plugins shopify woocommerce webhook webhooks developer",
    "twostep": "2fa two-factor two-step authenticator mfa|security code|two factor|two step",
    "card": "card visa mastercard amex karte kreditkarte carte tarjeta|credit card|debit card",
    "track": "track tracking trace traceable verfolgen sendungsverfolgung suivre suivi seguir seguimiento",
    "delete": "delete deletion erase remove wipe löschen supprimer eliminar borrar",
    "notify": "notification notifications notify alert alerts sms texted benachrichtigung "
    "notification avis aviso|text message|push message",
    "recurring": "recurring regular repeating weekly schedule scheduled wöchentlich régulier hebdomadaire semanal",
    "redeliver": "redelivery redeliver reattempt|deliver again|try again|second attempt",
    "discount": "discount discounts cheaper saving savings rabatt réduction descuento|save money",
    "absent": "missed absent nobody|not home|not in|wasn't home|wasn't in|nicht angetroffen|pas là",
    "forbidden": "forbidden prohibited banned allowed permitted dangerous verboten erlaubt interdit autorisé "
    "prohibido permitido",
    "app": "app apps application android iphone ios mobile",
    "account": "account profile konto profil compte perfil cuenta",
    "deliverytime": "arrive arrives arrival|how long|wie lange|combien de temps|cuánto tarda",
    "customer": "customer customers client clients kunde kunden kundin cliente clientes",
    "week": "week weeks woche wochen semaine semaines semana semanas",
    # Billing words any subscription or invoicing product's customers use.
    "plan": "plan plans subscription subscriptions tier tiers upgrade downgrade abo abonnement tarif "
    "formule suscripción",
    "pay": "pay pays paid paying payment payments debit debited zahlen zahlung bezahlen bezahlt payer paiement "
    "payé pagar pago pagado",
    "tax": "tax taxes vat gst steuer steuern mwst umsatzsteuer taxe taxes tva impuesto impuestos iva|sales tax",
    "quote": "quote quotes quotation quotations estimate estimates proposal angebot kostenvoranschlag devis "
    "presupuesto cotización",
    "reminder": "reminder reminders dunning unpaid outstanding mahnung erinnerung relance rappel recordatorio",
    "export": "export exports download downloads csv excel spreadsheet herunterladen exportieren télécharger "
    "exporter descargar exportar",
    "currency": "currency currencies euro euros dollar dollars pound pounds währung devise devises moneda monedas",
}

WORDS: dict[str, str] = {}
PHRASES: dict[str, str] = {}
for _concept, _spec in GROUPS.items():
    _single, *_phrases = _spec.split("|")
    for _word in _single.split():
        WORDS.setdefault(_word, f"~{_concept}")
    for _phrase in _phrases:
        _parts = _phrase.split()
        if len(_parts) > 1:
            PHRASES.setdefault(" ".join(_parts), f"~{_concept}")
        elif _parts:
            WORDS.setdefault(_parts[0], f"~{_concept}")
