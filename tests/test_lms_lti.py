"""LTI 1.3 AGS: a local platform verifies the tool's signed client assertion with the tool's
public key, issues a token, and checks the score it receives."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pylti1p3.exception import LtiServiceException
from pylti1p3.registration import Registration

from autograder.cli import run as cli
from autograder.results import GradeResult
from autograder.results import TestResult as Outcome
from tests.lms_servers import Received, Recorder, serve

CLIENT_ID = "autograder-tool-17"
ACCESS_TOKEN = "platform-access-token-93"
USER = "lti-user-5f2e"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo
                                           ).decode()
    return private, public


def platform_routes(public_pem: str, base: list[str], scores: list[dict[str, object]]) -> object:
    kid = Registration.get_jwk(public_pem)["kid"]

    def route(request: Received) -> tuple[int, dict[str, object], str]:
        token_url = base[0] + "/token"
        if request.path == "/token":
            assert request.method == "POST"
            form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
            assert form["grant_type"] == "client_credentials"
            assert form["client_assertion_type"] == \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in form["scope"].split()
            assertion = form["client_assertion"]
            header = jwt.get_unverified_header(assertion)
            assert header["alg"] == "RS256" and header["kid"] == kid, header
            try:
                claims = jwt.decode(assertion, public_pem, algorithms=["RS256"],
                                    audience=token_url, options={
                                        "require": ["iss", "sub", "aud", "iat", "exp", "jti"]})
            except jwt.InvalidTokenError as exc:
                raise AssertionError(f"client assertion rejected: {exc}") from exc
            assert claims["iss"] == claims["sub"] == CLIENT_ID
            assert claims["exp"] - time.time() <= 120
            return 200, {"access_token": ACCESS_TOKEN, "token_type": "bearer",
                         "expires_in": 3600, "scope": form["scope"]}, "application/json"
        assert request.path == "/lineitems/7/scores", f"unexpected {request.path}"
        assert request.method == "POST"
        assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
        assert request.headers["Content-Type"] == SCORE_TYPE
        score = json.loads(request.body)
        assert isinstance(score["scoreGiven"], float) and isinstance(score["scoreMaximum"], float)
        assert 0 <= score["scoreGiven"] <= score["scoreMaximum"]
        assert score["activityProgress"] == "Completed"
        assert score["gradingProgress"] == "FullyGraded"
        assert score["userId"] == USER
        assert score["timestamp"].endswith("+00:00") and "T" in score["timestamp"]
        scores.append(score)
        return 200, {}, "application/json"

    return route


def setup_tool(tmp_path: Path, token_url: str, private: str, public: str) -> Path:
    (tmp_path / "tool.key").write_text(private)
    (tmp_path / "tool.pub").write_text(public)
    config = tmp_path / "lti.toml"
    config.write_text(f'issuer = "https://platform.example"\nclient_id = "{CLIENT_ID}"\n'
                      f'auth_token_url = "{token_url}"\n'
                      'private_key = "tool.key"\npublic_key = "tool.pub"\n')
    result = GradeResult.from_tests("mse", [Outcome("a", 3, 4, "failed", "m"),
                                            Outcome("b", 5, 5, "passed", "m")],
                                    execution_time=2.0)
    (tmp_path / "result.json").write_text(json.dumps(result.to_dict()))
    return config


def test_publish_score_with_signed_client_assertion(tmp_path: Path) -> None:
    private, public = rsa_pair()
    recorder, scores, base = Recorder(), [], [""]
    with serve(platform_routes(public, base, scores), recorder) as url:
        base[0] = url
        config = setup_tool(tmp_path, url + "/token", private, public)
        code = cli(["lti", "publish", str(tmp_path / "result.json"), "--config", str(config),
                    "--lineitem", url + "/lineitems/7", "--user", USER, "--apply"])
    assert code == 0
    assert recorder.problems == []
    assert [r.path for r in recorder.requests] == ["/token", "/lineitems/7/scores"]
    assert scores[0]["scoreGiven"] == 8.0 and scores[0]["scoreMaximum"] == 9.0
    assert scores[0]["comment"] == "Autograder: 8 / 9 on mse."


def test_platform_rejects_an_assertion_signed_with_another_key(tmp_path: Path) -> None:
    _, public = rsa_pair()
    other_private, _ = rsa_pair()
    recorder, scores, base = Recorder(), [], [""]
    with serve(platform_routes(public, base, scores), recorder) as url:
        base[0] = url
        config = setup_tool(tmp_path, url + "/token", other_private, public)
        with pytest.raises(LtiServiceException):
            cli(["lti", "publish", str(tmp_path / "result.json"), "--config", str(config),
                 "--lineitem", url + "/lineitems/7", "--user", USER, "--apply"])
    assert scores == [] and len(recorder.problems) == 1
    assert "Signature verification failed" in recorder.problems[0]


def test_publish_is_a_dry_run_by_default(tmp_path: Path) -> None:
    private, public = rsa_pair()
    config = setup_tool(tmp_path, "http://127.0.0.1:9/token", private, public)
    code = cli(["lti", "publish", str(tmp_path / "result.json"), "--config", str(config),
                "--lineitem", "http://127.0.0.1:9/lineitems/7", "--user", USER])
    assert code == 0  # nothing listens on port 9: any request would have failed
