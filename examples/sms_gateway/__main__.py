"""``python -m sms_gateway [--port 5025]``: the reference gateway on loopback, for the demo."""

from __future__ import annotations

import argparse

from sms_gateway import create_app

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--port", type=int, default=5025)
args = parser.parse_args()
create_app().run(host="127.0.0.1", port=args.port)
