"""What a page's words and address say of it, shared by the capture's judgement of walls
(capture/walls.py) and a watch's answers (workflows/watch/availability.py), so the two never disagree; a
leaf module (no browser, nothing but ``re``), so a watch command that captures nothing starts fast.

``UNAVAILABLE``: the words of a page saying its content is gone.

Each phrase names what is gone as a whole (the ad, listing, page, content, profile...): a single word
("abgelaufen") or a generic phrase ("has been removed") is said by live ads too ("the old carpet has been
removed", "Photo removed by moderator" on a live ad). Read on a title, or on the visible text of a short
page only (the callers' limits).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

UNAVAILABLE = re.compile(
    "|".join(
        (
            r"\b(?:ad|advert|advertisement|listing|post|offer|page|content|item|profile)\s+(?:(?:has been|was|is)\s+)?"
            r"(?:removed|deleted|taken down|expired|no longer (?:available|exists|online|active))\b",
            r"\b(?:ad|advert|listing|post|page|content|profile)\s+(?:isn['’]t|is not|is currently not) available\b",
            r"\b(?:anzeige|inserat|angebot|seite|beitrag)\s+(?:(?:ist|wurde)\s+)?(?:nicht mehr (?:verf[üu]gbar|online)"
            r"|gel[öo]scht|abgelaufen|entfernt|deaktiviert)",
            r"\b(?:anzeige|inserat|seite) nicht gefunden",
            r"\b(?:annonce|page|offre)\s+(?:n'est plus disponible|a [ée]t[ée] supprim[ée]e?|supprim[ée]e|expir[ée]e"
            r"|a expir[ée])",
            r"\b(?:anuncio|p[áa]gina|oferta)\s+(?:ya no est[áa] disponible|ha sido eliminad[oa]|eliminad[oa]"
            r"|caducad[oa]|ha caducado)",
            r"\b(?:annuncio|pagina|offerta)\s+(?:non [èe] pi[ùu] disponibile|[èe] stat[oa] rimoss[oa]|scadut[oa]"
            r"|[èe] scadut[oa])",
            r"\b(?:an[úu]ncio|p[áa]gina|oferta)\s+(?:n[ãa]o est[áa] mais dispon[íi]vel|foi removid[oa]"
            r"|foi exclu[íi]d[oa]|expirad[oa])",
            r"og[łl]oszenie\s+(?:nie jest ju[żz] dost[ęe]pne|wygas[łl]o|zosta[łl]o usuni[ęe]te|usuni[ęe]te)",
            r"объявление\s+(?:удалено|больше не доступно|снято с публикации)",
            r"\b(?:advertentie|pagina|aanbieding)\s+(?:is\s+)?(?:niet meer beschikbaar|verwijderd|verlopen)",
        )
    ),
    re.IGNORECASE,
)
# A login page is named by a whole segment of its path (its stem, before any extension): /login,
# /accounts/login/, /signin.php, /users/sign_in, /authwall, /checkpoint/... Never by a word inside a slug
# (an ad redirected to /ad/777-relaxing-massage-session-delhi is the ad, not a login page).
LOGIN_SEGMENTS = frozenset(
    {
        "login", "log-in", "log_in", "logon", "signin", "sign-in", "sign_in", "authwall", "auth", "authenticate",
        "authorize", "sso", "checkpoint", "session", "sessions", "anmelden", "anmeldung", "connexion",
        "iniciar-sesion", "iniciar_sesion", "accedi", "entrar",
    }
)  # fmt: skip


def is_login_path(url: str) -> bool:
    """Whether a URL's path names a login page by one of its whole segments (see LOGIN_SEGMENTS)."""
    for segment in urlsplit(url).path.lower().split("/"):
        stem = segment.rsplit(".", 1)[0] if "." in segment else segment
        if segment in LOGIN_SEGMENTS or stem in LOGIN_SEGMENTS:
            return True
    return False


# Said by a title only ("Page not found" in a page's text may be a link or a quote).
TITLE_ONLY = re.compile(r"page not found|seite nicht gefunden|page introuvable|p[áa]gina no encontrada", re.I)
