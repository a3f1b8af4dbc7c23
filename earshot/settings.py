"""Process settings from the environment (``EARSHOT_`` prefix); one cached ``get_settings()``.

Defaults live here and in ``config/example.yaml``. Secrets come only from the
environment; production mode refuses placeholder secrets.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx", ""}


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("earshot", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EARSHOT_", env_file=None, extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default_factory=default_data_dir)
    store: str | None = Field(
        default=None,
        description="sqlite:///path.db (default: <data_dir>/earshot.db) or http(s)://… for Elasticsearch",
    )
    config: Path | None = Field(default=None, description="watch config YAML")
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_api_key: SecretStr | None = Field(default=None, description="Elasticsearch API key (instead of user/password)")
    es_index_prefix: str = "earshot"
    es_verify_certs: bool = True
    es_ca_certs: Path | None = None
    model: str | None = Field(default=None, description="sentiment model: local path or hub id; default: shipped model")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    quantize: bool = True
    webhook_secret: SecretStr | None = None
    reddit_client_id: str | None = None
    reddit_client_secret: SecretStr | None = None
    reddit_user_agent: str | None = None
    bluesky_handle: str | None = None
    bluesky_app_password: SecretStr | None = None
    mastodon_access_token: SecretStr | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_cors_origins: list[str] = Field(default_factory=list)
    public_url: str = Field(default="http://127.0.0.1:8000", description="base of links in alert messages")
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if self.env != "production":
            return self
        for name in ("es_password", "es_api_key", "webhook_secret", "reddit_client_secret", "bluesky_app_password"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDERS:
                raise ValueError(f"EARSHOT_{name.upper()} is a placeholder; set a real secret in production")
        return self

    def store_url(self) -> str:
        if self.store:
            return self.store
        return f"sqlite:///{self.data_dir / 'earshot.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
