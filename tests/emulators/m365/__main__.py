"""Run the Microsoft 365 emulator from the command line.

    python -m tests.emulators.m365 --snapshot workers/demo_tenant/data --port 8443 --state-dir /tmp/m365emu

Writes the CA certificate and the app's credentials into --state-dir (the private key and
secret go only there, never to the terminal) and prints where to point the tool.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from tests.emulators.m365.model import synthetic_tenant
from tests.emulators.m365.server import start_emulator


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.emulators.m365", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--snapshot", type=Path, help="snapshot folder to serve (default: the bundled demo tenant)"
    )
    p.add_argument("--synthetic", type=int, metavar="N", help="serve N generated users instead of a snapshot")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every service call")
    p.add_argument(
        "--state-dir", type=Path, default=Path("m365-emulator"), help="where to write CA and credentials"
    )
    args = p.parse_args(argv)

    tenant = synthetic_tenant(args.synthetic) if args.synthetic else None
    emu = start_emulator(args.snapshot, tenant=tenant, port=args.port, latency_s=args.latency_ms / 1000)
    state = args.state_dir
    state.mkdir(parents=True, exist_ok=True)
    (state / "ca.pem").write_bytes(emu.ca_pem)
    key_path = state / "app-key.pem"
    key_path.write_text(emu.app.private_key_pem + emu.app.certificate_pem)
    os.chmod(key_path, 0o600)
    creds = state / "app.json"
    creds.write_text(
        json.dumps(
            {
                "tenant": emu.tenant,
                "tenant_id": emu.app.tenant_id,
                "client_id": emu.app.client_id,
                "thumbprint": emu.app.thumbprint,
                "client_secret": emu.app.client_secret,
                "certificate_key_file": str(key_path.resolve()),
                "authority": emu.authority,
                "exchange_base_url": emu.base_url,
                "graph_base_url": emu.base_url,
                "ca_file": str((state / "ca.pem").resolve()),
            },
            indent=2,
        )
    )
    os.chmod(creds, 0o600)
    print(f"Microsoft 365 emulator for {emu.tenant} at {emu.base_url}")
    print(f"  authority  {emu.authority}")
    print(f"  app id     {emu.app.client_id} (certificate thumbprint {emu.app.thumbprint})")
    print(f"  CA and credentials in {state.resolve()} (app.json); Ctrl-C stops")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
