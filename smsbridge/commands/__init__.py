"""`smsbridge` subcommands that drive the flows; registered in `smsbridge/cli.py`."""
