"""The code-payment provider the back-office talks to, chosen by `[payment] provider` of
backoffice.toml. Adding the next provider: an adapter module in `kiosk/payment/` with
the four `CodePaymentProvider` calls, one branch here, its name in the config's choices
(docs/payment.md, "Adding a provider")."""

from __future__ import annotations

from kiosk.backoffice.config import BackofficePaymentSettings
from kiosk.payment.provider import CodePaymentProvider, HttpCodePaymentProvider


def from_settings(cfg: BackofficePaymentSettings) -> CodePaymentProvider | None:
    """None without credentials: the back-office then offers no code payment (attempts
    fail cleanly as "no code-payment provider configured")."""
    if not cfg.api_key():
        return None
    if cfg.provider == "paypay":
        from kiosk.payment.paypay import PayPayProvider  # the SDK only where it is used
        if not cfg.api_secret() or not cfg.merchant_id():
            return None
        return PayPayProvider(cfg.api_key(), cfg.api_secret(), cfg.merchant_id(),
                              environment=cfg.environment,
                              base_url=cfg.provider_url if cfg.environment == "standin" else "")
    return HttpCodePaymentProvider(
        cfg.provider_url, cfg.api_key(),
        merchant={"merchant_name": cfg.merchant_name, "merchant_name_ja": cfg.merchant_name_ja,
                  "merchant_city": cfg.merchant_city})
