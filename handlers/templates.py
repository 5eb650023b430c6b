"""Reply texts in Latvian (default) and English, and how values are written in them.

The replies of a one-off top-up (the bulk of the traffic) fit ONE part in both
languages. Every template must fit two SMS parts with worst-case values
(``tests/unit/test_templates.py``): 306 GSM 03.38 septets, or 134 UCS-2
characters when a character (any Latvian letter with a diacritic) needs UCS-2.
Numbers are shown in their 8-digit national form, amounts as ``5,00 EUR`` (lv)
or ``5.00 EUR`` (en), dates as ``30.11.2026``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from grammar import national

from .model import Language

__all__ = ["TEMPLATES", "fits_two_parts", "format_amount", "format_plain_amount", "render"]

_LV, _EN = Language.LV, Language.EN

TEMPLATES: dict[str, dict[Language, str]] = {
    # --- 1643 SOS-SMS: successes ---
    "topup_done": {
        _LV: "LMT Karte {karte} papildināta par {amount}. Summa būs Jūsu rēķinā.",
        _EN: "SOS-SMS: LMT Karte {karte} has been topped up with {amount}. "
        "The amount will appear on your next LMT invoice.",
    },
    "topup_received": {
        _LV: "Glābējīsziņa no {sender}: Jūsu LMT Karte papildināta par {amount}.",
        _EN: "Your LMT Karte has been topped up with {amount} by {sender} via SOS-SMS.",
    },
    "monthly_done": {
        _LV: "Glābējīsziņa: ikmēneša papildinājums {amount} LMT Kartei {karte} veikts. Summa būs nākamajā rēķinā.",
        _EN: "SOS-SMS monthly top-up: LMT Karte {karte} has been topped up with {amount}. "
        "The amount will appear on your next LMT invoice.",
    },
    "monthly_skipped_cap": {
        _LV: "Glābējīsziņa: šomēnes LMT Karte {karte} netika papildināta par {amount}, jo tiktu pārsniegts mēneša limits {cap}.",
        _EN: "SOS-SMS: this month LMT Karte {karte} was not topped up with {amount}: "
        "it would pass the monthly limit of {cap}.",
    },
    "monthly_skipped_karte": {
        _LV: "Glābējīsziņa: šomēnes LMT Karte {karte} netika papildināta, jo to vairs nevar papildināt.",
        _EN: "SOS-SMS: this month LMT Karte {karte} was not topped up because it can no longer be topped up.",
    },
    "monthly_skipped_sender": {
        _LV: "Glābējīsziņa: šomēnes LMT Karte {karte} netika papildināta, jo Jūsu numurs nevar izmantot pakalpojumu.",
        _EN: "SOS-SMS: this month LMT Karte {karte} was not topped up because your number cannot use the service.",
    },
    "monthly_invite": {
        _LV: "Lai LMT Karti {karte} papildinātu par {amount} katra mēneša pēdējā dienā, {hours} h laikā atbildiet JA.",
        _EN: "To top up LMT Karte {karte} with {amount} on the last day of every month, "
        "reply JA to 1643 within {hours} hours.",
    },
    "monthly_confirmed": {
        _LV: "Apstiprināts: LMT Karte {karte} tiks papildināta par {amount} katra mēneša pēdējā dienā, nākamreiz {date}.",
        _EN: "Confirmed: LMT Karte {karte} will be topped up with {amount} on the last day of every month, "
        "next on {date}.",
    },
    "monthly_changed": {
        _LV: "Apstiprināts: LMT Kartes {karte} ikmēneša papildinājums tagad ir {amount}, nākamreiz {date}.",
        _EN: "Confirmed: the monthly top-up of LMT Karte {karte} is now {amount}, next on {date}.",
    },
    "stop_all": {
        _LV: "Ikmēneša papildināšana atcelta visām Jūsu LMT Kartēm. Pēdējā papildināšana: {date}.",
        _EN: "Monthly top-ups cancelled for all your LMT Kartes. The last one is on {date}.",
    },
    "stop_one": {
        _LV: "LMT Kartes {karte} ikmēneša papildināšana atcelta. Pēdējā papildināšana: {date}.",
        _EN: "The monthly top-up of LMT Karte {karte} is cancelled. The last one is on {date}.",
    },
    "stop_pending": {
        _LV: "Jūsu neapstiprinātais ikmēneša papildināšanas pieteikums atcelts.",
        _EN: "Your unconfirmed monthly top-up request has been cancelled.",
    },
    "status_none": {
        _LV: "Šomēnes neesat papildinājis nevienu LMT Karti. Mēneša limits: {cap}.",
        _EN: "You have not topped up any LMT Karte this month. Monthly limit: {cap}.",
    },
    "status_list": {
        _LV: "Šomēnes papildināts: {items}. Kopā {total}, vēl var {left}.",
        _EN: "Topped up this month: {items}. Total {total}, {left} left.",
    },
    "status_karte": {
        _LV: "LMT Kartei {karte} šomēnes papildināts par {amount}.{monthly}",
        _EN: "LMT Karte {karte} this month: {amount}.{monthly}",
    },
    "status_karte_monthly": {
        _LV: " Ikmēneša papildinājums: {amount}.",
        _EN: " Monthly top-up: {amount}.",
    },
    "help": {
        _LV: "Glābējīsziņa: papildiniet LMT Karti, summa būs Jūsu rēķinā. Sūtiet: 2XXXXXXX summa; "
        "M 2XXXXXXX summa; STOP; S. Vairāk: V? M? S? STOP?",
        _EN: "SOS-SMS: top up an LMT Karte and pay on your LMT invoice. Text to 1643: 2XXXXXXX amount "
        "(one-off), M 2XXXXXXX amount (monthly), STOP (cancel monthly), S (status). "
        "Instructions: V? M? S? STOP?",
    },
    "help_one_off": {
        _LV: "Vienreiz: sūtiet 2XXXXXXX summa, piem. 29123456 5. Summa 1,42-21,34 EUR, dienā līdz 21,34, mēnesī 42,69 EUR.",
        _EN: "One-off top-up: text 2XXXXXXX amount to 1643, e.g. 29123456 5. Amount 1.42-21.34 EUR; "
        "up to 21.34 EUR a day and 42.69 EUR a month.",
    },
    "help_monthly": {
        _LV: "Katru mēnesi: sūtiet M 2XXXXXXX summa (1,42-42,69 EUR), piem. M 29123456 4,13, un 24 h laikā JA.",
        _EN: "Monthly top-up: text M 2XXXXXXX amount (1.42-42.69 EUR), e.g. M 29123456 4.13, then confirm "
        "with JA within 24 hours. It runs on the last day of every month.",
    },
    "help_status": {
        _LV: "Statuss: S - šomēnes papildinātās LMT Kartes un summas; S 2XXXXXXX - summa šai LMT Kartei šomēnes.",
        _EN: "Status: S - the LMT Kartes you topped up this month and the amounts; "
        "S 2XXXXXXX - how much you spent on that LMT Karte this month.",
    },
    "help_stop": {
        _LV: "Atcelt: STOP - visu LMT Karšu ikmēneša papildināšanu; STOP 2XXXXXXX - vienai. Spēkā no nākamā mēneša.",
        _EN: "Cancel: STOP - the monthly top-ups of all your LMT Kartes; STOP 2XXXXXXX - of one LMT Karte. "
        "Takes effect from next month.",
    },
    # --- 1643 SOS-SMS: refusals (handlers.errors) ---
    "not_eligible_unknown": {
        _LV: "Glābējīsziņu var izmantot tikai LMT pēcapmaksas klienti.",
        _EN: "SOS-SMS is only for LMT postpaid customers.",
    },
    "not_eligible_inactive": {
        _LV: "Jūsu numurs nav aktīvs, tāpēc Glābējīsziņu izmantot nevar.",
        _EN: "Your number is not active, so it cannot use SOS-SMS.",
    },
    "not_eligible_not_postpaid": {
        _LV: "Glābējīsziņu var izmantot tikai LMT pēcapmaksas klienti, ne LMT Kartes numuri.",
        _EN: "SOS-SMS is only for LMT postpaid customers, not for LMT Karte numbers.",
    },
    "not_eligible_legal": {
        _LV: "Uzņēmuma numuram Glābējīsziņa nav atļauta. To var atļaut Mans LMT vai LMT Klientu centrā.",
        _EN: "SOS-SMS is not allowed for this company number. It can be allowed in My LMT "
        "or at an LMT Customer Centre.",
    },
    "amount_out_of_range": {
        _LV: "Summai jābūt no {low} līdz {high}. Piemērs: {example}. Palīdzība: HELP",
        _EN: "The amount must be from {low} to {high}. Example: {example}. Help: HELP",
    },
    "daily_cap": {
        _LV: "Dienas limits ir {cap}. Šodien vēl var papildināt par {left}. Palīdzība: HELP",
        _EN: "The daily limit is {cap}. You can top up {left} more today. Help: HELP",
    },
    "monthly_cap": {
        _LV: "Mēneša limits ir {cap}. Šomēnes vēl var papildināt par {left}. Palīdzība: HELP",
        _EN: "The monthly limit is {cap}. You can top up {left} more this month. Help: HELP",
    },
    "not_a_karte": {
        _LV: "{karte} nav LMT Kartes numurs. Papildināt var tikai LMT Karti. Palīdzība: HELP",
        _EN: "{karte} is not an LMT Karte number. Only an LMT Karte can be topped up. Help: HELP",
    },
    "karte_not_active": {
        _LV: "LMT Karte {karte} nav aktīva, to papildināt nevar.",
        _EN: "LMT Karte {karte} is not active and cannot be topped up.",
    },
    "karte_expired": {
        _LV: "LMT Kartes {karte} derīgums beidzās pirms vairāk nekā {months} mēnešiem, to papildināt nevar.",
        _EN: "LMT Karte {karte} expired more than {months} months ago and can no longer be topped up.",
    },
    "no_pending": {
        _LV: "Jums nav pieteikuma, ko apstiprināt. Ikmēneša papildināšanai sūtiet M 2XXXXXXX summa.",
        _EN: "You have no request to confirm. For a monthly top-up text M 2XXXXXXX amount to 1643.",
    },
    "pending_expired": {
        _LV: "Pieteikums netika apstiprināts {hours} h laikā. Sūtiet vēlreiz M {karte} {plain}, tad JA.",
        _EN: "Your request was not confirmed within {hours} hours. Text M {karte} {plain} again, then JA.",
    },
    "nothing_to_cancel": {
        _LV: "Jums nav ikmēneša papildināšanas, ko atcelt.",
        _EN: "You have no monthly top-ups to cancel.",
    },
    "nothing_to_cancel_karte": {
        _LV: "LMT Kartei {karte} nav ikmēneša papildināšanas.",
        _EN: "LMT Karte {karte} has no monthly top-up.",
    },
    # --- 1643: texts that are not commands (grammar.Problem) ---
    "parse_empty": {
        _LV: "Tukša īsziņa. Palīdzība: sūtiet HELP uz 1643.",
        _EN: "The message is empty. For help text HELP to 1643.",
    },
    "parse_unknown_keyword": {
        _LV: 'Nezināma komanda "{token}". Piemērs: 29123456 5. Palīdzība: HELP',
        _EN: 'Unknown command "{token}". Example: 29123456 5. Help: HELP',
    },
    "parse_missing_number": {
        _LV: "Trūkst LMT Kartes numura. Piemērs: {example}. Palīdzība: HELP",
        _EN: "The LMT Karte number is missing. Example: {example}. Help: HELP",
    },
    "parse_bad_number": {
        _LV: '"{token}" nav LMT numurs. Piemērs: {example}. Palīdzība: HELP',
        _EN: '"{token}" is not an LMT number. Example: {example}. Help: HELP',
    },
    "parse_missing_amount": {
        _LV: "Trūkst summas. Piemērs: {example}. Palīdzība: HELP",
        _EN: "The amount is missing. Example: {example}. Help: HELP",
    },
    "parse_bad_amount": {
        _LV: 'Nepareiza summa "{token}". Piemērs: {example}. Palīdzība: HELP',
        _EN: '"{token}" is not an amount in euros (at most 2 decimals). Example: {example}. Help: HELP',
    },
    "parse_extra_words": {
        _LV: 'Lieks "{token}": vienā īsziņā tikai viena LMT Karte. Piemērs: {example}. Palīdzība: HELP',
        _EN: 'Unexpected "{token}": one LMT Karte per message. Example: {example}. Help: HELP',
    },
    # --- 1640 My LMT password ---
    "password_sent": {
        _LV: "Jūsu pagaidu Mans LMT parole: {password} (derīga {hours} h, vienai pieslēgšanās reizei).",
        _EN: "Your temporary My LMT password: {password} (valid for {hours} hours, for one login).",
    },
    "password_try_later": {
        _LV: "Pārāk daudz paroles pieprasījumu. Lūdzu, mēģiniet vēlāk.",
        _EN: "Too many password requests. Please try again later.",
    },
    "password_not_active": {
        _LV: "Mans LMT paroli var saņemt tikai no aktīva LMT numura.",
        _EN: "A My LMT password can only be sent to an active LMT number.",
    },
    "password_hint": {
        _LV: "Lai saņemtu jaunu Mans LMT paroli, sūtiet P uz 1640.",
        _EN: "To get a new My LMT password, text P to 1640.",
    },
    # --- e-mail (not SMS; no length limit) ---
    "email_password_subject": {
        _LV: "Mans LMT parole nomainīta",
        _EN: "Your My LMT password was changed",
    },
    "email_password_body": {
        _LV: "Labdien!\n\nNumuram {number} {at} pieprasīta jauna pagaidu Mans LMT parole (nosūtīta īsziņā).\n"
        "Ja to neesat pieprasījis, sazinieties ar LMT.\n\nLMT",
        _EN: "Hello,\n\nA new temporary My LMT password was requested for {number} at {at} "
        "and sent by SMS.\nIf this was not you, please contact LMT.\n\nLMT",
    },
}

#: Templates that are not SMS replies (no two-part limit).
NOT_SMS = frozenset({"email_password_subject", "email_password_body"})

#: Examples of the right form, per attempted keyword, in each language.
EXAMPLES: dict[str | None, dict[Language, str]] = {
    None: {_LV: "29123456 5", _EN: "29123456 5"},
    "V": {_LV: "29123456 5", _EN: "29123456 5"},
    "M": {_LV: "M 29123456 4,13", _EN: "M 29123456 4.13"},
    "STOP": {_LV: "STOP 29123456", _EN: "STOP 29123456"},
    "S": {_LV: "S 29123456", _EN: "S 29123456"},
    "JA": {_LV: "JA", _EN: "JA"},
    "HELP": {_LV: "HELP", _EN: "HELP"},
    "P": {_LV: "P", _EN: "P"},
}


def format_plain_amount(amount: Decimal, lang: Language) -> str:
    """``5,00`` (lv) or ``5.00`` (en): the amount as a subscriber would type it."""
    text = f"{amount.quantize(Decimal('0.01')):f}"
    return text.replace(".", ",") if lang is Language.LV else text


def format_amount(amount: Decimal, lang: Language) -> str:
    return f"{format_plain_amount(amount, lang)} EUR"


def _format_value(value: Any, lang: Language) -> Any:
    if isinstance(value, Decimal):
        return format_amount(value, lang)
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return value


def render(key: str, lang: Language, **params: Any) -> str:
    """The template ``key`` in ``lang`` with values written the way that language writes them.

    Parameters named ``karte``, ``sender`` or ``number`` are MSISDNs and are shown in
    national form; ``Decimal`` values are amounts; ``date`` values are dates.
    """
    values = {name: _format_value(value, lang) for name, value in params.items()}
    for name in ("karte", "sender", "number"):
        if isinstance(values.get(name), str) and values[name].startswith("371"):
            values[name] = national(values[name])
    return TEMPLATES[key][lang].format(**values)


def example(keyword: str | None, lang: Language) -> str:
    return EXAMPLES.get(keyword, EXAMPLES[None])[lang]


_GSM_EXTENSION_ASCII = frozenset("^{}\\[~]|\f")
#: The ASCII characters GSM 03.38 has (basic or extension): all printable ones but the backtick.
_GSM_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F) if chr(c) != "`") | frozenset("\n\r\f")


def fits_two_parts(text: str) -> bool:
    """A conservative check that ``text`` fits two concatenated SMS parts.

    Text made of GSM 03.38 ASCII characters is GSM (153 septets a part, extension
    characters counting two); anything else is taken as UCS-2 (67 units a part).
    Two parts have one boundary, where an escape or surrogate pair that would
    straddle it moves whole to the second part: at most one unit lost. The exact
    encoder lives at the edge (``smsgw.sms``); the template tests check they agree.
    """
    if all(ch in _GSM_ASCII for ch in text):
        escapes = sum(1 for ch in text if ch in _GSM_EXTENSION_ASCII)
        return len(text) + escapes <= 2 * 153 - (1 if escapes else 0)
    units = len(text.encode("utf-16-be", "surrogatepass")) // 2
    return units <= 2 * 67 - (1 if units > len(text) else 0)
