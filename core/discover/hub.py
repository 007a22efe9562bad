"""Which Hub Discover talks to, with which token, and how its failures read.

huggingface_hub decides both by itself, as for every other Hub call in
llamadeck: HF_ENDPOINT (a mirror such as hf-mirror.com) and HF_TOKEN (or
the token `hf auth login` saved), HF_HUB_OFFLINE to stay off the network.
`Hub` only carries an explicit endpoint or token where a caller has one
(tests, a second mirror) and never shows the token: not in its repr, not in
an error (core.redact masks what an exception's text might carry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from core.errors import DiscoverError
from core.facts.hf_hub import hub_error

if TYPE_CHECKING:
    from huggingface_hub import HfApi

API_TIMEOUT = 30.0  # seconds for one API answer (search, a repo's file list)


@dataclass(frozen=True)
class Hub:
    """An endpoint (None: huggingface_hub's, from HF_ENDPOINT) and a token (None: huggingface_hub's)."""

    endpoint: str | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self.endpoint:
            return self.endpoint.rstrip("/")
        from huggingface_hub import constants  # here: huggingface_hub costs start-up time

        return str(constants.ENDPOINT).rstrip("/")

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=self.token)

    def headers(self) -> dict[str, str]:
        """huggingface_hub's headers for a Hub request: its user agent and, where there is one, the token."""
        # the documented place (huggingface_hub 2.4.0 utils/__init__.py), re-exported lazily, which mypy
        # cannot see
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

        from core import __version__

        return dict(build_hf_headers(token=self.token, library_name="llamadeck", library_version=__version__))

    def file_url(self, repo_id: str, revision: str, path: str) -> str:
        """Where a file's bytes are: the Hub's resolve URL (it redirects big files to its CDN)."""
        return f"{self.url}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"

    def check_online(self) -> None:
        from huggingface_hub import constants

        if constants.is_offline_mode():
            raise DiscoverError("The Hub cannot be asked while HF_HUB_OFFLINE is set.",
                                hint="Unset HF_HUB_OFFLINE to search and read models on the Hub.")

    def error(self, repo_id: str, exc: Exception) -> DiscoverError:
        """One sentence for a failed Hub call about `repo_id` (huggingface_hub's and httpx's errors)."""
        return hub_error(DiscoverError, repo_id, exc, url=self.url, downloading=False)
