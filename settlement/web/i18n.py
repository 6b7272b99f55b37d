"""The pages' words in French and English, and money and dates written the local way.

The language is `?lang=` when given (and remembered in a cookie), else the first of the
browser's Accept-Language that we speak, else French (the authority's language).
Sentences that come from the fare engine (leg explanations) are English; the templates
mark them `lang="en"` so a screen reader pronounces them right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fare.money import exponent

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
COOKIE = "ticketing_lang"

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "site": "Un seul passage",
        "skip": "Aller au contenu",
        "language": "Langue",
        "log_in": "Se connecter",
        "log_out": "Se déconnecter",
        "email": "Adresse e-mail",
        "password": "Mot de passe",
        "login_intro": "Voyageurs et équipe finance : connectez-vous avec votre compte.",
        "bad_login": "Adresse e-mail ou mot de passe incorrect (ou compte bloqué un moment).",
        "no_account": "Pas encore de compte ? Créez-le avec l'API : POST /v1/riders.",
        "journeys": "Trajets",
        "cards": "Cartes",
        "charges": "Débits",
        "debts": "Impayés",
        "days": "Journées",
        "rider_nav": "Espace voyageur",
        "finance_nav": "Espace finance",
        "from": "Du",
        "to": "au",
        "show": "Afficher",
        "no_journeys": "Aucun trajet sur cette période.",
        "card": "Carte",
        "day_total": "Total de la journée",
        "leg": "Trajet",
        "time": "Heure",
        "amount": "Montant",
        "why": "Explication",
        "adjustment": "Ajustement",
        "receipt": "Reçu",
        "receipts": "Reçus",
        "no_cards": "Aucune carte liée.",
        "scheme": "Réseau",
        "last4": "4 derniers chiffres",
        "expiry": "Expiration",
        "unlink": "Retirer",
        "unlink_card": "Retirer la carte se terminant par {last4}",
        "card_unlinked": "Carte retirée.",
        "link_how_title": "Lier une carte",
        "link_how": (
            "Une carte se lie en la présentant chiffrée, comme la lit un valideur : "
            "l'application mobile ou un terminal envoie son enveloppe scellée à l'API. "
            "Ce site ne voit jamais le numéro de carte."
        ),
        "service_day": "Journée de service",
        "status": "État",
        "kind": "Type",
        "no_charges": "Aucun débit.",
        "no_debts": "Aucun impayé. Merci !",
        "pay": "Payer",
        "pay_debt": "Payer {amount} pour le {day}",
        "debt_paid": "Impayé réglé : la carte est de nouveau acceptée.",
        "debt_declined": "La banque a refusé le paiement. Réessayez plus tard ou appelez-la.",
        "debt_failed": "Le paiement n'a pas abouti (incident technique). Réessayez plus tard.",
        "print": "Imprimer",
        "receipt_title": "Reçu de débit",
        "receipt_no": "Reçu n°",
        "issued_by": "Autorité organisatrice des mobilités",
        "charged_on": "Débité le",
        "total": "Total",
        "back": "Retour",
        "service_days": "Journées de service",
        "no_days": "Aucune journée clôturée.",
        "taps": "Validations",
        "legs": "Trajets",
        "charged": "Débité",
        "declined": "Refusé",
        "closed_at": "Clôturée le",
        "closed_by": "par",
        "open_day": "Détails",
        "statement": "Relevé par opérateur",
        "operator": "Opérateur",
        "revenue": "Recettes",
        "adjustments": "Ajustements",
        "later_adjustments": "Ajustements ultérieurs",
        "refunds": "Remboursements",
        "boardings": "Montées",
        "fees": "Frais",
        "due": "À reverser",
        "download_csv": "Télécharger le relevé (CSV)",
        "csv_api": "Par l'API : GET {path}?format=csv avec un jeton finance.",
        "chart_title": "Recettes par opérateur, jour après jour",
        "chart_caption": "Recettes par opérateur et par journée (tableau des données)",
        "reconciliation": "Rapprochement avec le prestataire de paiement",
        "reconciled": "Rapproché : tout correspond.",
        "reconciled_dates": "Mouvements du prestataire du {start} au {end}.",
        "nothing_to_reconcile": "Aucun mouvement du prestataire sur ces dates pour l'instant.",
        "charged_label": "Débité :",
        "not_reconciled": "Écarts à examiner.",
        "matched": "Correspondances",
        "mismatch": "Montants différents",
        "missing": "Absents chez le prestataire",
        "unknown": "Inconnus chez nous",
        "records": "Enregistrements du prestataire",
        "refund": "Rembourser un débit",
        "refund_intro": (
            "Le numéro de débit est le « reçu n° » que le voyageur voit sur son reçu. "
            "Le montant est pris sur la part de chaque opérateur au prorata."
        ),
        "refund_charge": "Numéro de débit (reçu n°)",
        "refund_amount": "Montant à rembourser ({currency})",
        "refund_reason": "Motif",
        "refund_submit": "Rembourser",
        "refund_succeeded": "Remboursement effectué.",
        "refund_pending": "Remboursement accepté ; la banque doit encore le confirmer.",
        "bad_amount": "Montant non valide.",
        "not_closed": "Cette journée n'est pas encore clôturée.",
        "error": "Erreur",
        "forbidden": "Cette page n'est pas ouverte à votre compte.",
        "not_found": "Introuvable.",
        "csrf": "Le formulaire a expiré. Rechargez la page et recommencez.",
        "bad_request": "La demande n'est pas valide.",
        "status_pending": "en attente",
        "status_paid": "payé",
        "status_declined": "refusé",
        "status_recovered": "réglé après refus",
        "status_refunded": "remboursé",
        "status_nothing_due": "rien à payer",
        "status_not_enrolled": "carte non enregistrée",
        "status_failed": "à réessayer",
        "status_open": "à payer",
        "status_written_off": "passé en perte",
        "status_closed": "clôturée",
        "status_charging": "en cours",
        "kind_day": "journée",
        "kind_adjustment": "ajustement",
        "kind_transit": "transport",
        "kind_bike": "vélo",
        "kind_parking": "parking",
        "kind_cap": "plafond",
        "kind_transfer": "correspondance",
        "kind_join": "trajet combiné",
        # Receipts as PDF, and journey disputes (settlement.disputes).
        "download_pdf": "Télécharger le reçu (PDF)",
        "operators": "Opérateurs",
        "net_paid": "Payé après remboursements",
        "status_succeeded": "effectué",
        "status_partially_refunded": "remboursé en partie",
        "disputes": "Réclamations",
        "my_disputes": "Vos réclamations",
        "dispute_how": (
            "Pour signaler un problème, suivez le lien « Signaler un problème » à côté du "
            "trajet, sur la page Trajets."
        ),
        "report_problem": "Signaler un problème",
        "report_problem_leg": "Signaler un problème : {leg}, {time}",
        "dispute_new": "Signaler un problème sur un trajet",
        "dispute_intro": (
            "Oubli de valider en sortie, montant qui vous semble faux, trajet qui n'est pas "
            "le vôtre : dites-le-nous. L'équipe finance vous répond sur cette page."
        ),
        "dispute_reason": "Motif",
        "reason_missed_tap_out": "J'ai oublié de valider en sortie",
        "reason_wrong_amount": "Le montant est faux",
        "reason_not_my_journey": "Ce n'est pas mon trajet",
        "reason_other": "Autre",
        "dispute_message": "Votre message",
        "dispute_message_hint": "{n} caractères au plus.",
        "dispute_submit": "Envoyer la réclamation",
        "dispute_opened": "Réclamation enregistrée. L'équipe finance vous répondra ici.",
        "dispute_already_open": "Une réclamation est déjà ouverte pour ce trajet.",
        "no_disputes": "Aucune réclamation.",
        "dispute_no": "Réclamation n°",
        "dispute_status_open": "en cours d'examen",
        "dispute_status_upheld": "acceptée",
        "dispute_status_rejected": "refusée",
        "opened_on": "Ouverte le",
        "resolved_on": "Traitée le",
        "refund_given": "Remboursement",
        "reply": "Réponse",
        "your_message": "Votre message",
        "dispute_leg_gone": "Trajet effacé de l'historique.",
        "disputes_open": "Réclamations à traiter",
        "status_filter": "Afficher",
        "all_disputes": "Toutes",
        "outcome": "Décision",
        "uphold": "Accepter et rembourser",
        "reject": "Refuser",
        "dispute_reply": "Réponse au voyageur",
        "dispute_reply_hint": "Obligatoire pour refuser.",
        "resolve": "Enregistrer la décision",
        "dispute_resolved": "Décision enregistrée.",
        "refundable": "Encore remboursable",
        "rider_message": "Message du voyageur",
        "next_page": "Page suivante",
    },
    "en": {
        "site": "One tap",
        "skip": "Skip to content",
        "language": "Language",
        "log_in": "Log in",
        "log_out": "Log out",
        "email": "Email address",
        "password": "Password",
        "login_intro": "Riders and finance staff: log in with your account.",
        "bad_login": "Wrong email or password (or the account is locked for a while).",
        "no_account": "No account yet? Open one with the API: POST /v1/riders.",
        "journeys": "Journeys",
        "cards": "Cards",
        "charges": "Charges",
        "debts": "Debts",
        "days": "Days",
        "rider_nav": "Rider pages",
        "finance_nav": "Finance pages",
        "from": "From",
        "to": "to",
        "show": "Show",
        "no_journeys": "No journeys in this period.",
        "card": "Card",
        "day_total": "Day total",
        "leg": "Journey",
        "time": "Time",
        "amount": "Amount",
        "why": "Explanation",
        "adjustment": "Adjustment",
        "receipt": "Receipt",
        "receipts": "Receipts",
        "no_cards": "No card linked.",
        "scheme": "Scheme",
        "last4": "Last 4 digits",
        "expiry": "Expiry",
        "unlink": "Remove",
        "unlink_card": "Remove the card ending {last4}",
        "card_unlinked": "Card removed.",
        "link_how_title": "Linking a card",
        "link_how": (
            "A card is linked by presenting it sealed, as a validator reads it: the mobile "
            "app or a terminal sends its sealed envelope to the API. This site never sees "
            "the card number."
        ),
        "service_day": "Service day",
        "status": "Status",
        "kind": "Kind",
        "no_charges": "No charges.",
        "no_debts": "No debts. Thank you!",
        "pay": "Pay",
        "pay_debt": "Pay {amount} for {day}",
        "debt_paid": "Debt paid: the card is accepted again.",
        "debt_declined": "Your bank declined the payment. Try again later or call your bank.",
        "debt_failed": "The payment did not go through (technical problem). Try again later.",
        "print": "Print",
        "receipt_title": "Charge receipt",
        "receipt_no": "Receipt no.",
        "issued_by": "Transit authority",
        "charged_on": "Charged on",
        "total": "Total",
        "back": "Back",
        "service_days": "Service days",
        "no_days": "No day closed yet.",
        "taps": "Taps",
        "legs": "Legs",
        "charged": "Charged",
        "declined": "Declined",
        "closed_at": "Closed on",
        "closed_by": "by",
        "open_day": "Details",
        "statement": "Operator statement",
        "operator": "Operator",
        "revenue": "Revenue",
        "adjustments": "Adjustments",
        "later_adjustments": "Later adjustments",
        "refunds": "Refunds",
        "boardings": "Boardings",
        "fees": "Fees",
        "due": "Payable",
        "download_csv": "Download the statement (CSV)",
        "csv_api": "Through the API: GET {path}?format=csv with a finance token.",
        "chart_title": "Revenue per operator, day by day",
        "chart_caption": "Revenue per operator and service day (data table)",
        "reconciliation": "Reconciliation with the payment processor",
        "reconciled": "Reconciled: everything matches.",
        "reconciled_dates": "Processor records from {start} to {end}.",
        "nothing_to_reconcile": "No processor records for these dates yet.",
        "charged_label": "Charged:",
        "not_reconciled": "Differences to look at.",
        "matched": "Matched",
        "mismatch": "Amount mismatches",
        "missing": "Missing at the processor",
        "unknown": "Unknown to us",
        "records": "Processor records",
        "refund": "Refund a charge",
        "refund_intro": (
            "The charge number is the receipt number the rider sees on their receipt. "
            "The amount comes off each operator's share pro rata."
        ),
        "refund_charge": "Charge number (receipt no.)",
        "refund_amount": "Amount to refund ({currency})",
        "refund_reason": "Reason",
        "refund_submit": "Refund",
        "refund_succeeded": "Refund done.",
        "refund_pending": "Refund accepted; the bank has yet to confirm it.",
        "bad_amount": "The amount is not valid.",
        "not_closed": "This day is not closed yet.",
        "error": "Error",
        "forbidden": "This page is not open to your account.",
        "not_found": "Not found.",
        "csrf": "The form has expired. Reload the page and try again.",
        "bad_request": "The request is not valid.",
        "status_pending": "pending",
        "status_paid": "paid",
        "status_declined": "declined",
        "status_recovered": "paid after a decline",
        "status_refunded": "refunded",
        "status_nothing_due": "nothing due",
        "status_not_enrolled": "card not enrolled",
        "status_failed": "to be retried",
        "status_open": "to pay",
        "status_written_off": "written off",
        "status_closed": "closed",
        "status_charging": "in progress",
        "kind_day": "day",
        "kind_adjustment": "adjustment",
        "kind_transit": "transit",
        "kind_bike": "bike",
        "kind_parking": "parking",
        "kind_cap": "cap",
        "kind_transfer": "transfer",
        "kind_join": "joined journey",
        # Receipts as PDF, and journey disputes (settlement.disputes).
        "download_pdf": "Download the receipt (PDF)",
        "operators": "Operators",
        "net_paid": "Paid after refunds",
        "status_succeeded": "done",
        "status_partially_refunded": "partly refunded",
        "disputes": "Disputes",
        "my_disputes": "Your reports",
        "dispute_how": (
            "To report a problem, follow the “Report a problem” link next to the journey "
            "on the Journeys page."
        ),
        "report_problem": "Report a problem",
        "report_problem_leg": "Report a problem: {leg}, {time}",
        "dispute_new": "Report a problem with a journey",
        "dispute_intro": (
            "A missed tap-out, an amount that looks wrong, a journey that is not yours: "
            "tell us. Finance staff answer on this page."
        ),
        "dispute_reason": "Reason",
        "reason_missed_tap_out": "I missed the tap-out",
        "reason_wrong_amount": "The amount is wrong",
        "reason_not_my_journey": "This is not my journey",
        "reason_other": "Something else",
        "dispute_message": "Your message",
        "dispute_message_hint": "At most {n} characters.",
        "dispute_submit": "Send the report",
        "dispute_opened": "Problem reported. Finance staff will answer here.",
        "dispute_already_open": "A report is already open for this journey.",
        "no_disputes": "No problem reported.",
        "dispute_no": "Dispute no.",
        "dispute_status_open": "under review",
        "dispute_status_upheld": "upheld",
        "dispute_status_rejected": "rejected",
        "opened_on": "Opened on",
        "resolved_on": "Resolved on",
        "refund_given": "Refund",
        "reply": "Reply",
        "your_message": "Your message",
        "dispute_leg_gone": "Journey deleted from the history.",
        "disputes_open": "Disputes to resolve",
        "status_filter": "Show",
        "all_disputes": "All",
        "outcome": "Outcome",
        "uphold": "Uphold and refund",
        "reject": "Reject",
        "dispute_reply": "Reply to the rider",
        "dispute_reply_hint": "Required to reject.",
        "resolve": "Record the outcome",
        "dispute_resolved": "Outcome recorded.",
        "refundable": "Still refundable",
        "rider_message": "Rider's message",
        "next_page": "Next page",
    },
}

MONTHS = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
        "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
}  # fmt: skip
WEEKDAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept_language or "")


def from_accept_language(header: str) -> str:
    """The first language we speak in the header's preference order (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


@dataclass(frozen=True, slots=True)
class Words:
    """What templates call `t`: `t("key")`, `t.money(...)`, `t.day(...)`."""

    lang: str

    def __call__(self, key: str, **values: str) -> str:
        text = WORDS[self.lang].get(key) or WORDS["en"].get(key) or key
        return text.format(**values) if values else text

    def status(self, status: str) -> str:
        return self(f"status_{status}") if f"status_{status}" in WORDS[self.lang] else status

    def kind(self, kind: str) -> str:
        return self(f"kind_{kind}") if f"kind_{kind}" in WORDS[self.lang] else kind

    def money(self, amount_minor: int, currency: str) -> str:
        return money(amount_minor, currency, self.lang)

    def day(self, value: date | str) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        weekday = WEEKDAYS[self.lang][day.weekday()]
        month = MONTHS[self.lang][day.month - 1]
        return f"{weekday} {day.day} {month} {day.year}"

    def clock(self, value: datetime | str | None, zone: ZoneInfo) -> str:
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = moment.astimezone(zone)
        return (
            f"{local.hour:02d}:{local.minute:02d}"
            if self.lang == "en"
            else (f"{local.hour:02d} h {local.minute:02d}")
        )

    def moment(self, value: datetime | str | None, zone: ZoneInfo) -> str:
        if value is None:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return f"{self.day(moment.astimezone(zone).date())}, {self.clock(moment, zone)}"


def money(amount_minor: int, currency: str, lang: str) -> str:
    """1,30 € in French, €1.30 in English; integers only (no float near money)."""
    places = exponent(currency)
    sign = "\u2212" if amount_minor < 0 else ""  # a true minus sign reads better than "-"
    units, cents = divmod(abs(amount_minor), 10**places)
    separator = "," if lang == "fr" else "."
    grouping = "\u202f" if lang == "fr" else ","
    whole = f"{units:,}".replace(",", grouping)
    number = f"{whole}{separator}{cents:0{places}d}" if places else whole
    symbol = SYMBOLS.get(currency)
    if lang == "fr":
        return f"{sign}{number}\u00a0{symbol or currency}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
