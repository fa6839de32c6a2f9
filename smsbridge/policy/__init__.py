"""Message policy: what may be sent to whom, and how (consent, stop list, daytime, duplicates)."""
