"""The app's page inside Bitrix24's frame: routes, texts and templates (logic: smsbridge.frame)."""
