"""Microsoft 365 emulator: Entra ID sign-in, Exchange Online REST admin API, Microsoft Graph.

from tests.emulators.m365 import start_emulator
with start_emulator() as emu:            # the bundled demo tenant, on a free 127.0.0.1 port
    exo = emu.exchange()                 # ExchangeSource signed in with the app's certificate
    exo.get_recipient("adele.vance")
"""

from tests.emulators.m365.model import Tenant, load_tenant, synthetic_tenant
from tests.emulators.m365.server import AppCredentials, Knobs, M365Emulator, RunningEmulator, start_emulator

__all__ = [
    "AppCredentials",
    "Knobs",
    "M365Emulator",
    "RunningEmulator",
    "Tenant",
    "load_tenant",
    "start_emulator",
    "synthetic_tenant",
]
