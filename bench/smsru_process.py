"""The SMS.ru emulator in a process of its own, so that its work does not share the webhook's CPU.

Run: `python -m bench.smsru_process --port P --key K --latency 0.1` (bench.loopback starts it).
The account has money for any benchmark; statuses move on and callbacks go to the URLs the
webhook registers, as in the sandbox.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

import uvicorn

from sandbox.smsru import SmsRuEmulator, create_app
from smsbridge import logs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds before each answer")
    parser.add_argument(
        "--delays",
        default="0.05,0.1,0.2",
        help="seconds after a send until `accepted`, `in transit` and the final status",
    )
    args = parser.parse_args()
    emulator = SmsRuEmulator()
    emulator.add_account(args.key, balance=Decimal(10**9))
    emulator.latency = args.latency
    accepted, in_transit, final = (float(delay) for delay in args.delays.split(","))
    emulator.delays = (accepted, in_transit, final)
    logs.configure()
    uvicorn.run(
        create_app(emulator), host="127.0.0.1", port=args.port, access_log=False, log_config=None
    )


if __name__ == "__main__":
    main()
