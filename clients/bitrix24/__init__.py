"""Async client for the Bitrix24 REST API: OAuth tokens, rate limiting, batch and paging."""
