"""Where the batch's Dask tasks run, and how the connection is secured.

* No ``--scheduler``: a LocalCluster whose scheduler and workers listen on 127.0.0.1 only,
  so nothing off this machine can submit work to them (execute.py).
* ``--scheduler tls://HOST:PORT``: Dask's own TLS (``distributed.security.Security``), with
  mutual authentication: the client presents a certificate and checks the scheduler's
  against a CA. Certificates come from ``--tls-ca-file/--tls-cert/--tls-key``, or, when
  none is given, from Dask's configuration (``distributed.comm.tls.ca-file``,
  ``distributed.comm.tls.client.cert`` and ``.key``, e.g. in ``~/.config/dask/*.yaml`` or
  ``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``). A ``tls://`` address without certificates is
  refused rather than tried unauthenticated.
* ``--scheduler tcp://HOST:PORT``: unencrypted, for a scheduler on a trusted network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed.security import Security


class SchedulerSettingsError(ValueError):
    """The scheduler address and the TLS settings do not fit together."""


class SchedulerUnreachableError(RuntimeError):
    """The scheduler did not answer (or refused the handshake) in time."""


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    @property
    def given(self) -> bool:
        return any((self.ca_file, self.cert, self.key))


def scheduler_security(scheduler: str | None, tls: TlsFiles = TlsFiles()) -> Security | None:
    """The client's Security for ``scheduler``; None for a LocalCluster or plain TCP."""
    encrypted = bool(scheduler) and str(scheduler).startswith("tls://")
    if tls.given and not encrypted:
        raise SchedulerSettingsError(
            "--tls-ca-file/--tls-cert/--tls-key need a tls:// scheduler address "
            f"(got {scheduler or 'none: a local cluster'})")
    if not encrypted:
        return None
    from distributed.security import Security

    if tls.given:
        missing = [name for name, value in (("--tls-ca-file", tls.ca_file),
                                            ("--tls-cert", tls.cert),
                                            ("--tls-key", tls.key)) if value is None]
        if missing:
            raise SchedulerSettingsError(f"a tls:// scheduler needs {', '.join(missing)} too")
        unreadable = [str(p) for p in (tls.ca_file, tls.cert, tls.key)
                      if p is not None and not p.is_file()]
        if unreadable:
            raise SchedulerSettingsError(f"TLS files not found: {', '.join(unreadable)}")
        return Security(tls_ca_file=str(tls.ca_file), tls_client_cert=str(tls.cert),
                        tls_client_key=str(tls.key), require_encryption=True)
    # Reads distributed.comm.tls.* from Dask's configuration (its attributes are dynamic).
    configured = Security(require_encryption=True)
    if not (getattr(configured, "tls_ca_file", None)
            and getattr(configured, "tls_client_cert", None)):
        raise SchedulerSettingsError(
            f"{scheduler} is a TLS scheduler, but no certificates were given: pass "
            "--tls-ca-file, --tls-cert and --tls-key, or set distributed.comm.tls.ca-file "
            "and distributed.comm.tls.client.cert/key in Dask's configuration")
    return configured
