"""Gateway settings: defaults < YAML file < environment (`PSG_...`, nested with `__`).

Read once at the edge (CLI) and passed down as typed objects; nothing deeper reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    FilePath,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from adapters import PartnerConfig, RetryPolicy
from gateway.booking.policy import SagaSettings
from gateway.resilience import BreakerPolicy, BulkheadPolicy
from gateway.ssrf import check_partner_url
from gateway.storage import (
    DATA_KEY_FILE,
    DataCipher,
    TransactionBounds,
    cipher_from_document,
    load_data_cipher,
)

# The policies are the one source of their defaults and their checks: each settings section
# below takes its defaults from one, and builds it to validate itself.
_RETRY = RetryPolicy()
_BREAKER = BreakerPolicy()
_BULKHEAD = BulkheadPolicy()
_SAGA = SagaSettings()


class RetrySettings(BaseModel):
    """`adapters.RetryPolicy` as settings: same defaults, and the policy's own checks."""

    max_attempts: int = Field(_RETRY.max_attempts, ge=1, le=10)
    initial_backoff_s: float = Field(_RETRY.initial_backoff_s, ge=0)
    max_backoff_s: float = Field(_RETRY.max_backoff_s, ge=0)
    jitter_s: float = Field(_RETRY.jitter_s, ge=0)
    budget_ratio: float = Field(_RETRY.budget_ratio, ge=0)
    """Retries allowed per partner, as a share of its calls (plus `budget_min_per_s`)."""
    budget_min_per_s: float = Field(_RETRY.budget_min_per_s, ge=0)

    @model_validator(mode="after")
    def _a_working_policy(self) -> RetrySettings:
        self.policy()  # raises ValueError, which pydantic reports against the settings
        return self

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.model_dump())


class PartnerSettings(BaseModel):
    """One partner the gateway may ask. `adapter` defaults to the bundled one for `kind`."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    kind: str
    name: str
    local: bool = False
    """Allows `base_url`/`token_url` on loopback or private networks (the sandbox partners);
    otherwise such URLs are refused as SSRF risks. Cloud metadata addresses never are.
    Declared before the URLs: their validator reads it."""
    base_url: str
    token_url: str | None = None
    client_id: str = "partner-gateway"
    client_secret: str
    scope: str | None = None
    adapter: str | None = None
    max_connections: int = Field(100, ge=1)

    @field_validator("base_url", "token_url")
    @classmethod
    def _endpoint_is_safe(cls, url: str | None, info: ValidationInfo) -> str | None:
        # A field validator, so an error shows the URL only, never the partner's secret.
        if url is not None:
            check_partner_url(url, local=bool(info.data.get("local", False)))
        return url

    def to_config(self, retry: RetrySettings) -> PartnerConfig:
        return PartnerConfig(
            partner_id=self.id,
            kind=self.kind,
            name=self.name,
            base_url=self.base_url,
            token_url=self.token_url or f"{self.base_url.rstrip('/')}/oauth/token",
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.scope,
            max_connections=self.max_connections,
            retry=retry.policy(),
        )


class TlsSettings(BaseModel):
    """TLS for the gRPC listener; with `client_ca_file`, mutual TLS (client certificates
    signed by that CA are required)."""

    cert_file: FilePath
    """PEM certificate chain of the server."""
    key_file: FilePath
    """PEM private key of the server."""
    client_ca_file: FilePath | None = None


class ServerSettings(BaseModel):
    address: str = "127.0.0.1:50051"
    grace_period_s: float = Field(5.0, ge=0)
    max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    keepalive_time_s: int = Field(60, ge=10)
    keepalive_timeout_s: int = Field(20, ge=1)
    tls: TlsSettings | None = None
    """Unset: plaintext (loopback, tests, the demo)."""


class RateLimitSettings(BaseModel):
    """A token bucket per calling partner; `requests_per_s: 0` turns limiting off."""

    requests_per_s: float = Field(100.0, ge=0)
    burst: int = Field(200, ge=1)


class CompositionSettings(BaseModel):
    default_deadline_s: float = Field(5.0, gt=0)
    """Budget when the caller sets no gRPC deadline."""
    max_deadline_s: float = Field(30.0, gt=0)
    """The longest the gateway waits for partners, whatever the caller's deadline."""
    compose_reserve_s: float = Field(0.05, ge=0)
    """Time kept back from the partners' budget to compose and answer."""
    recipe_dirs: list[Path] = Field(default_factory=list)


class BreakerSettings(BaseModel):
    """`gateway.resilience.BreakerPolicy` as settings: same defaults, and its own checks."""

    window: int = Field(_BREAKER.window, ge=1)
    min_calls: int = Field(_BREAKER.min_calls, ge=1)
    failure_ratio: float = Field(_BREAKER.failure_ratio, gt=0, le=1)
    cool_down_s: float = Field(_BREAKER.cool_down_s, ge=0)

    @model_validator(mode="after")
    def _a_working_policy(self) -> BreakerSettings:
        self.policy()  # raises ValueError, which pydantic reports against the settings
        return self

    def policy(self) -> BreakerPolicy:
        return BreakerPolicy(**self.model_dump())


class BulkheadSettings(BaseModel):
    """`gateway.resilience.BulkheadPolicy` as settings: same defaults, and its own checks."""

    max_concurrent: int = Field(_BULKHEAD.max_concurrent, ge=1)
    max_waiting: int = Field(_BULKHEAD.max_waiting, ge=0)

    @model_validator(mode="after")
    def _a_working_policy(self) -> BulkheadSettings:
        self.policy()
        return self

    def policy(self) -> BulkheadPolicy:
        return BulkheadPolicy(**self.model_dump())


class ResilienceSettings(BaseModel):
    """Per partner: a circuit breaker and a bulkhead around its adapter."""

    breaker: BreakerSettings = BreakerSettings()
    bulkhead: BulkheadSettings = BulkheadSettings()


class StorageSettings(BaseModel):
    dsn: str | None = None
    """PostgreSQL DSN (`postgresql://host:5432/db`); unset = SQLite under `state_dir`."""
    pg_schema: str = Field("public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    """PostgreSQL schema for the gateway's tables."""
    # PostgreSQL: what one stalled replica can cost the others (docs/security.md).
    statement_timeout_s: float = Field(10.0, gt=0)
    """A statement running longer is cancelled."""
    lock_timeout_s: float = Field(2.0, gt=0)
    """A statement waiting longer for a lock gives up (retried later)."""
    idle_in_transaction_timeout_s: float = Field(5.0, gt=0)
    """A session idle this long inside a transaction is ended and its locks released."""
    # Personal data at rest (docs/privacy.md, "Personal data at rest").
    data_key_file: Path | None = None
    """The key ring sealing personal data in the store (AES-256-GCM): JSON `{"active": id,
    "keys": {id: base64 key}}`. Unset (and no `data_keys`): `<state_dir>/data-keys.json`,
    created with one fresh key when missing. Replicas sharing a store share the ring."""
    data_keys: dict[str, SecretStr] = Field(default_factory=dict)
    """The key ring given inline instead (id → base64 of 32 random bytes), for example from
    a secret store as `PSG_STORAGE__DATA_KEYS='{"k2": "..."}'`; needs `data_key_id`."""
    data_key_id: str | None = None
    """Which of `data_keys` seals new data; the others only open older data."""

    @model_validator(mode="after")
    def _active_key_is_in_the_ring(self) -> StorageSettings:
        if self.data_keys and self.data_key_id not in self.data_keys:
            raise ValueError("storage.data_key_id must name one of storage.data_keys")
        if self.data_key_id is not None and not self.data_keys:
            raise ValueError("storage.data_key_id needs storage.data_keys")
        return self

    def transaction_bounds(self) -> TransactionBounds:
        return TransactionBounds(
            statement_timeout_s=self.statement_timeout_s,
            lock_timeout_s=self.lock_timeout_s,
            idle_in_transaction_timeout_s=self.idle_in_transaction_timeout_s,
        )

    def data_cipher(self, state_dir: Path) -> DataCipher:
        """The key ring: inline, else from its file (created when missing)."""
        if self.data_keys and self.data_key_id is not None:
            ring = {k: v.get_secret_value() for k, v in self.data_keys.items()}
            return cipher_from_document(
                {"active": self.data_key_id, "keys": ring}, "storage.data_keys"
            )
        return load_data_cipher(self.data_key_file or state_dir / DATA_KEY_FILE)


class BookingSettings(BaseModel):
    """The booking saga's policy (`gateway.booking.SagaSettings`: its defaults and checks),
    and how unfinished sagas are found and who runs them."""

    step_timeout_s: float = Field(_SAGA.step_timeout_s, gt=0)
    """Budget of one partner call of the booking saga, retries included."""
    lease_ttl_s: float = Field(_SAGA.lease_ttl_s, gt=0)
    """A replica that stops renewing a saga's lease for this long loses it to another."""
    recovery_interval_s: float = Field(5.0, gt=0)
    """How often unfinished orders are looked for (and dead replicas' sagas taken over)."""
    replica_id: str | None = None
    """This replica's name in leases; default: host name and process id."""

    @model_validator(mode="after")
    def _a_working_saga(self) -> BookingSettings:
        self.saga_policy()
        return self

    def saga_policy(self) -> SagaSettings:
        return SagaSettings(step_timeout_s=self.step_timeout_s, lease_ttl_s=self.lease_ttl_s)


class AuditSettings(BaseModel):
    """The audit log's chain and its signed checkpoints (docs/security.md, "The audit log
    under replicas")."""

    seal_interval_s: float = Field(0.5, gt=0)
    """How often records written by replicas are chained (PostgreSQL)."""
    checkpoint_interval_s: float = Field(60.0, gt=0)
    """How often the chain's head is signed into a checkpoint, when it has moved (and once
    more when the gateway stops)."""
    signing_key_file: Path | None = None
    """The P-256 private JWK that signs checkpoints; unset: the embedded issuer's
    `signing_key_file`, else `<state_dir>/audit-signing-key.json` (created when missing).
    `audit verify` checks signatures with the same file."""
    checkpoint_file: Path | None = None
    """Also append every checkpoint (one JWS a line) to this file, kept apart from the
    database (another volume, write-once storage); `audit verify` reads it too."""


JwtAlgorithm = Literal["ES256", "RS256"]
"""The only signature algorithms access tokens may use: no `none`, no HMAC."""
_ALL_ALGORITHMS: list[JwtAlgorithm] = ["ES256", "RS256"]


class TrustedIssuerSettings(BaseModel):
    """An authorization server whose access tokens the gateway accepts (docs/security.md)."""

    issuer: str
    """Its issuer identifier: the exact `iss` of its tokens."""
    jwks_uri: str | None = None
    """Where its public keys are; unset: from `{issuer}/.well-known/openid-configuration`."""
    algorithms: list[JwtAlgorithm] = Field(default_factory=lambda: _ALL_ALGORITHMS.copy())


class IssuerClientSettings(BaseModel):
    """A client of the embedded token issuer; a partner's client id is its partner id."""

    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    client_secret: str | None = None
    """For `client_secret_basic`."""
    jwks: dict[str, Any] | None = None
    """Public keys (`{"keys": [...]}`) for `private_key_jwt` client assertions (RFC 7523)."""
    scopes: list[str] | None = None
    """The scopes it may be granted; unset: every scope of the gateway."""

    @model_validator(mode="after")
    def _can_authenticate(self) -> IssuerClientSettings:
        if not self.client_secret and not self.jwks:
            raise ValueError(f"issuer client {self.client_id} needs a client_secret or jwks")
        return self


class TokenIssuerSettings(BaseModel):
    """The embedded OAuth 2.0 token issuer (client credentials), served over HTTP by the
    gateway process itself, so the embedded default needs no outside identity provider. On
    by default; turn it off when an external identity provider issues every token."""

    enabled: bool = True
    address: str = "127.0.0.1:8400"
    url: str | None = None
    """Its issuer identifier as clients reach it (`iss` of its tokens); unset: `http://` +
    the bound address. Replicas behind a load balancer share one URL, the balancer's."""
    token_ttl_s: int = Field(300, ge=30, le=3600)
    session_token_ttl_s: int = Field(600, ge=1, le=900)
    """Lifetime of a customer-session token (RFC 8693 token exchange, docs/front-ends.md):
    at most 15 minutes, as a browser holds it."""
    signing_key_file: Path | None = None
    """A P-256 private JWK, created when missing; unset: a new key at every start. Worker
    processes (`serve --workers`) and replicas must share one file: a token signed by one
    is then valid at every other."""
    clients: list[IssuerClientSettings] = Field(default_factory=list)
    """The partners as OAuth clients. Empty: nobody can get a token, so `serve` refuses to
    start unless `--sandbox` registers the sandbox partners (or `trusted_issuers` is set)."""


class AuthSettings(BaseModel):
    """Authenticated callers (docs/security.md), required by default."""

    required: bool = True
    """Every RPC but health and reflection needs a bearer access token (RFC 9068). `false`
    lets anyone who reaches the port act as any partner: for local experiments only (the
    gateway logs a warning when it starts so)."""
    audience: str = "urn:partner-gateway"
    """The gateway's identifier, which tokens must name in `aud`."""
    trusted_issuers: list[TrustedIssuerSettings] = Field(default_factory=list)
    """Besides the embedded issuer, which is trusted whenever it is enabled."""
    leeway_s: int = Field(30, ge=0, le=300)
    """Clock skew allowed on `exp`, `nbf` and `iat`."""
    jwks_cache_ttl_s: float = Field(300.0, gt=0)
    jwks_refetch_interval_s: float = Field(10.0, ge=0)
    """A token with an unknown key id re-fetches its issuer's keys at most this often."""
    jwks_first_fetch_retry_s: float = Field(1.0, ge=0)
    """While an issuer's keys were never fetched, a failed fetch is tried again this soon."""
    jwks_timeout_s: float = Field(5.0, gt=0)
    token_url: str | None = None
    """Where the command line obtains tokens; unset: the embedded issuer's token endpoint."""
    issuer: TokenIssuerSettings = TokenIssuerSettings()

    @model_validator(mode="after")
    def _has_an_issuer(self) -> AuthSettings:
        if self.required and not (self.trusted_issuers or self.issuer.enabled):
            raise ValueError("auth.required needs auth.trusted_issuers or auth.issuer.enabled")
        return self


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PSG_", env_nested_delimiter="__", extra="forbid")

    server: ServerSettings = ServerSettings()
    composition: CompositionSettings = CompositionSettings()
    retry: RetrySettings = RetrySettings()
    resilience: ResilienceSettings = ResilienceSettings()
    storage: StorageSettings = StorageSettings()
    audit: AuditSettings = AuditSettings()
    booking: BookingSettings = BookingSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    auth: AuthSettings = AuthSettings()
    partners: list[PartnerSettings] = Field(default_factory=list)
    """The partners the gateway asks. None by default, so no sandbox secret is ever a
    production default: `serve` refuses to start without partners, and `serve --sandbox` and
    `demo` add the sandbox partners they run (`gateway.cli.sandbox_link`)."""
    state_dir: Path = Path("state")
    log_level: str = "INFO"

    @field_validator("partners")
    @classmethod
    def _unique_ids(cls, partners: list[PartnerSettings]) -> list[PartnerSettings]:
        ids = [p.id for p in partners]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate partner ids: {', '.join(duplicates)}")
        return partners

    def audit_key_file(self) -> Path:
        """The key file signing audit checkpoints (`audit.signing_key_file`)."""
        return (
            self.audit.signing_key_file
            or self.auth.issuer.signing_key_file
            or self.state_dir / "audit-signing-key.json"
        )

    def partner_configs(self) -> list[PartnerConfig]:
        return [p.to_config(self.retry) for p in self.partners]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit arguments, then the environment, then the YAML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("yaml_file"):
            sources.append(YamlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> GatewaySettings:
    """Settings from `config_file` (YAML, optional), overridden by `PSG_*` variables."""
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"configuration file not found: {config_file}")

    class _FromFile(GatewaySettings):
        model_config = SettingsConfigDict(
            **{**GatewaySettings.model_config, "yaml_file": config_file}
        )

    return _FromFile(**overrides)
