"""Choosing PayPay in backoffice.toml: names, environments, credentials from env vars."""

from __future__ import annotations

import pytest

from kiosk.backoffice.config import Settings
from kiosk.backoffice.payments.providers import from_settings
from kiosk.domain.errors import ConfigError
from kiosk.payment import paypay
from kiosk.payment.paypay import PayPayProvider
from kiosk.payment.provider import HttpCodePaymentProvider

ENV = {"PAYMENT_PROVIDER_API_KEY": "k-123", "PAYMENT_PROVIDER_API_SECRET": "s-456",
       "PAYMENT_PROVIDER_MERCHANT_ID": "m-789"}


def settings(**payment: object) -> Settings:
    return Settings.from_mapping({"payment": payment})


@pytest.mark.parametrize(("environment", "url"), [
    # the SDK's own URLs, whatever its version says
    ("sandbox", paypay.paypayopa.Client.DEFAULTS["sandbox_base_url"]),
    ("production", paypay.paypayopa.Client.DEFAULTS["production_base_url"]),
    ("standin", "http://127.0.0.1:9999")])
def test_paypay_environment(monkeypatch: pytest.MonkeyPatch, environment: str,
                            url: str) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    provider = from_settings(settings(provider="paypay", environment=environment,
                                      provider_url="http://127.0.0.1:9999").payment)
    assert isinstance(provider, PayPayProvider)
    assert provider.client.base_url == url
    assert provider.client.assume_merchant == "m-789"
    assert "k-123" not in repr(provider) and "s-456" not in repr(provider)


def test_paypay_needs_all_three_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = settings(provider="paypay").payment
    assert from_settings(cfg) is None
    monkeypatch.setenv("PAYMENT_PROVIDER_API_KEY", "k")
    monkeypatch.setenv("PAYMENT_PROVIDER_API_SECRET", "s")
    assert from_settings(cfg) is None           # no merchant id: no code payment
    monkeypatch.setenv("PAYMENT_PROVIDER_MERCHANT_ID", "m")
    assert isinstance(from_settings(cfg), PayPayProvider)


def test_generic_provider_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_PROVIDER_API_KEY", "k")
    assert isinstance(from_settings(settings().payment), HttpCodePaymentProvider)


def test_webhook_sources() -> None:
    anyone = settings().payment
    assert anyone.webhook_from("203.0.113.9") and anyone.webhook_from("")
    listed = settings(webhook_sources=["203.0.113.0/24", "2001:db8::1"]).payment
    assert listed.webhook_from("203.0.113.9") and listed.webhook_from("2001:db8::1")
    assert not listed.webhook_from("127.0.0.1") and not listed.webhook_from("")


@pytest.mark.parametrize("payment", [{"provider": "paypal"}, {"environment": "live"},
                                     {"api_secret": "in-a-file"},
                                     {"webhook_sources": ["paypay.ne.jp"]}])
def test_bad_settings_name_the_key(payment: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        settings(**payment)
