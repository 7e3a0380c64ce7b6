"""LTI 1.3 Assignment and Grade Services: publish a result's score to a line item.

The tool signs a client assertion (RS256) with its private key, exchanges it for an
access token at the platform's token URL (OAuth2 client credentials, JWT bearer), and
posts an ``application/vnd.ims.lis.v1.score+json`` score to ``<lineitem>/scores``.
PyLTI1p3 does the signing, the token exchange and the request.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from autograder.results import GradeResult

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"


@dataclass(frozen=True)
class LtiPlatform:
    """The tool's registration with one platform (from ``lti.toml``)."""

    issuer: str
    client_id: str
    auth_token_url: str
    private_key_pem: str
    public_key_pem: str  # its JWK thumbprint becomes the assertion's ``kid``
    auth_audience: str | None = None

    @classmethod
    def read(cls, path: Path) -> LtiPlatform:
        """``issuer``, ``client_id``, ``auth_token_url``, ``private_key`` and ``public_key``
        (PEM file paths, relative to the config file), optional ``auth_audience``."""
        config = tomllib.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        return cls(issuer=config["issuer"], client_id=config["client_id"],
                   auth_token_url=config["auth_token_url"],
                   private_key_pem=(folder / config["private_key"]).read_text(encoding="utf-8"),
                   public_key_pem=(folder / config["public_key"]).read_text(encoding="utf-8"),
                   auth_audience=config.get("auth_audience"))


@dataclass(frozen=True)
class Score:
    user_id: str
    score_given: float
    score_maximum: float
    comment: str
    timestamp: str

    @classmethod
    def from_result(cls, result: GradeResult, user_id: str,
                    now: datetime | None = None) -> Score:
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        return cls(user_id=user_id, score_given=float(result.score),
                   score_maximum=float(result.max_score),
                   comment=f"Autograder: {result.score:g} / {result.max_score:g} on "
                           f"{result.exercise}.",
                   timestamp=moment.isoformat(timespec="milliseconds"))


def _registration(platform: LtiPlatform) -> Any:
    from pylti1p3.registration import Registration

    registration = Registration()
    registration.set_issuer(platform.issuer).set_client_id(platform.client_id)
    registration.set_auth_token_url(platform.auth_token_url)
    registration.set_tool_private_key(platform.private_key_pem)
    registration.set_tool_public_key(platform.public_key_pem)
    if platform.auth_audience:
        registration.set_auth_audience(platform.auth_audience)
    return registration


def publish_score(platform: LtiPlatform, lineitem_url: str, score: Score) -> dict[str, Any]:
    """POST ``score`` to ``lineitem_url``/scores; returns the platform's reply."""
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.grade import Grade
    from pylti1p3.service_connector import ServiceConnector

    connector = ServiceConnector(_registration(platform))
    # PyLTI1p3 types the scopes as literals; these are two of them.
    service_data = cast(Any, {"scope": [SCORE_SCOPE, LINEITEM_SCOPE], "lineitem": lineitem_url})
    service = AssignmentsGradesService(connector, service_data)
    grade = (Grade().set_score_given(score.score_given)
             .set_score_maximum(score.score_maximum)
             .set_activity_progress("Completed")
             .set_grading_progress("FullyGraded")
             .set_timestamp(score.timestamp)
             .set_user_id(score.user_id)
             .set_comment(score.comment))
    reply: dict[str, Any] = dict(service.put_grade(grade))
    return reply
