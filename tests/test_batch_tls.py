"""Remote Dask over TLS: grade-batch reaches a tls:// scheduler with certificates from its
options or from Dask's configuration, refuses a tls:// address without them, and a local
cluster listens on loopback only. Certificates are made here, self-signed."""

from __future__ import annotations

import datetime
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dask
import distributed.security  # noqa: F401  (loads Dask's distributed.* config defaults)
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from autograder.batch.demo import write_submission
from autograder.batch.scheduler import SchedulerSettingsError, TlsFiles, scheduler_security
from autograder.exercises import get_exercise
from tests.batch_support import ROOT, cli_env, grade_batch_command, read_summary


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def make_certificates(folder: Path, label: str = "test") -> TlsFiles:
    """A CA and one certificate it signed for 127.0.0.1 (used by scheduler, workers and
    client alike), as PEM files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(f"{label} CA"))
          .issuer_name(_name(f"{label} CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("grader"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(folder / "ca.pem", folder / "cert.pem", _write_key(key, folder / "key.pem"))


@pytest.fixture
def no_tls_config() -> Iterator[None]:
    with dask.config.set({"distributed.comm.tls.ca-file": None,
                          "distributed.comm.tls.client.cert": None,
                          "distributed.comm.tls.client.key": None}):
        yield


def test_a_local_cluster_and_plain_tcp_need_no_certificates() -> None:
    assert scheduler_security(None) is None
    assert scheduler_security("tcp://10.0.0.5:8786") is None


def test_tls_files_without_a_tls_scheduler_are_refused(tmp_path: Path) -> None:
    files = make_certificates(tmp_path)
    with pytest.raises(SchedulerSettingsError, match="tls://"):
        scheduler_security("tcp://10.0.0.5:8786", files)
    with pytest.raises(SchedulerSettingsError, match="tls://"):
        scheduler_security(None, files)


def test_a_tls_scheduler_without_certificates_is_refused(no_tls_config: None,
                                                         tmp_path: Path) -> None:
    with pytest.raises(SchedulerSettingsError, match="no certificates"):
        scheduler_security("tls://10.0.0.5:8786")
    files = make_certificates(tmp_path)
    with pytest.raises(SchedulerSettingsError, match="--tls-key"):
        scheduler_security("tls://10.0.0.5:8786", TlsFiles(files.ca_file, files.cert))


def test_certificates_come_from_options_or_from_dask_config(no_tls_config: None,
                                                            tmp_path: Path) -> None:
    files = make_certificates(tmp_path)
    from_options = scheduler_security("tls://10.0.0.5:8786", files)
    assert from_options is not None and from_options.require_encryption
    assert from_options.get_connection_args("client")["ssl_context"] is not None
    with dask.config.set({"distributed.comm.tls.ca-file": str(files.ca_file),
                          "distributed.comm.tls.client.cert": str(files.cert),
                          "distributed.comm.tls.client.key": str(files.key)}):
        from_config = scheduler_security("tls://10.0.0.5:8786")
    assert from_config is not None and from_config.require_encryption
    assert from_config.get_connection_args("client")["ssl_context"] is not None


@pytest.mark.slow
def test_grade_batch_on_a_tls_scheduler(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from distributed import Client, LocalCluster
    from distributed.security import Security

    from autograder.batch.execute import dask_client

    # The local cluster the batch makes by itself listens on loopback only.
    with dask_client(workers=1) as local:
        addresses = [local.scheduler.address, *local.scheduler_info()["workers"]]
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses

    files = make_certificates(tmp_path / "tls")
    server = Security(tls_ca_file=str(files.ca_file), tls_scheduler_cert=str(files.cert),
                      tls_scheduler_key=str(files.key), tls_worker_cert=str(files.cert),
                      tls_worker_key=str(files.key), tls_client_cert=str(files.cert),
                      tls_client_key=str(files.key), require_encryption=True)
    # Workers import this checkout, as the batch's CLI does.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    mse = get_exercise("mse")
    write_submission(mse, "correct", submissions, "student-1")
    write_submission(mse, "slide-typo", submissions, "student-2")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls://",
                      host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                      security=server) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1:")
        stranger = make_certificates(tmp_path / "other", label="other")
        wrong = Security(tls_ca_file=str(stranger.ca_file),
                         tls_client_cert=str(stranger.cert),
                         tls_client_key=str(stranger.key), require_encryption=True)
        with pytest.raises((OSError, TimeoutError)):
            Client(address, security=wrong, timeout=3)  # another CA: no handshake

        out = tmp_path / "out"
        done = subprocess.run(
            [*grade_batch_command("mse", submissions, out), "--scheduler", address,
             "--tls-ca-file", str(files.ca_file), "--tls-cert", str(files.cert),
             "--tls-key", str(files.key)],
            env=cli_env(), capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        run = read_summary(out)["run"]
        assert run["graded_now"] == 2 and run["workers"].startswith(f"scheduler {address}")
        scores = {p.stem: json.loads(p.read_text())["score"] for p in
                  (out / "results").glob("*.json")}
        assert scores["student-1"] > scores["student-2"]

        refused = subprocess.run(
            [*grade_batch_command("mse", submissions, tmp_path / "out2"), "--scheduler",
             address], env=cli_env(DASK_DISTRIBUTED__COMM__TLS__CA_FILE=""),
            capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert refused.returncode == 2 and "no certificates" in refused.stderr
        assert "Traceback" not in refused.stderr
