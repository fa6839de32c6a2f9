"""The app's page inside Bitrix24: who opened it, what they may change, what they are shown."""
