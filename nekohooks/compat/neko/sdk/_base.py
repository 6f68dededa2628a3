"""``NekoPluginBase`` of N.E.K.O's SDK v2, on a nekohooks plugin context.

Attributes a plugin uses: ``ctx``, ``config``, ``store``, ``logger`` (``{}`` formatting),
``plugin_id``, ``config_dir`` (the plugin's nekohooks home), ``data_path(*parts)`` (under
``<home>/data``), ``plugin_dir`` (the plugin's own folder), ``metadata``, ``i18n``,
``push_message(...)``, ``enable_file_logging(log_level=...)`` / ``file_logger``. The bus,
memory, routers, UI registration and dynamic entries raise ``NotImplementedError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ._config import PluginConfig
from ._context import SdkContext
from ._logger import SdkLogger, file_logger
from ._store import PluginStore
from ._unsupported import unsupported
from .shared.i18n import PluginI18n, load_locales

if TYPE_CHECKING:
    from .._runtime import Runtime

__all__ = ["NekoPluginBase"]


class NekoPluginBase:
    """Base class of N.E.K.O plugins; the adapter constructs subclasses with ``cls(ctx)``."""

    __freezable__: ClassVar[list[str]] = []
    __persist_mode__: ClassVar[str] = "off"

    def __init__(self, ctx: SdkContext) -> None:
        if not isinstance(ctx, SdkContext):
            raise TypeError("NekoPluginBase needs the context nekohooks.compat.neko gives it")
        runtime: Runtime = ctx._runtime
        self._runtime = runtime
        self.ctx = ctx
        self.logger: Any = ctx.logger
        self.sdk_logger: Any = ctx.logger
        self.config = PluginConfig(runtime.ctx.config, runtime.ctx.data_dir)
        self.store = PluginStore(runtime, enabled=runtime.manifest.store_enabled)
        self.i18n: PluginI18n = load_locales(
            runtime.folder / runtime.manifest.locales_dir,
            default_locale=runtime.manifest.default_locale,
        )

    @property
    def plugin_id(self) -> str:
        """``[plugin] id``."""
        return self.ctx.plugin_id

    @property
    def config_dir(self) -> Path:
        """The plugin's nekohooks home (where its ``plugin.toml`` copy lives)."""
        return self._runtime.ctx.home

    @property
    def plugin_dir(self) -> Path:
        """The plugin's own folder (its code and bundled files; treat it as read-only)."""
        return self._runtime.folder

    def data_path(self, *parts: str) -> Path:
        """``<home>/data/<parts...>``; ``UnsafePath`` if the parts would leave it."""
        if not parts:
            return self._runtime.ctx.data_dir
        return self._runtime.ctx.path("/".join(parts))

    @property
    def metadata(self) -> dict[str, Any]:
        """The ``[plugin]`` table of ``plugin.toml``."""
        return dict(self.ctx.metadata)

    def push_message(self, **kwargs: Any) -> dict[str, Any]:
        """Send a message through ``ctx.send_message`` (see ``SdkContext.push_message``)."""
        return self.ctx.push_message(**kwargs)

    def report_status(self, status: dict[str, Any]) -> None:
        """Remember a self-reported status."""
        self.ctx.update_status(status)

    def get_logger(self, suffix: str | None = None) -> SdkLogger:
        """The plugin's logger, or a child ``<plugin>.<suffix>``."""
        base = self._runtime.ctx.logger
        return SdkLogger(base.getChild(suffix) if suffix else base)

    def enable_file_logging(
        self,
        *,
        log_dir: str | Path | None = None,
        log_level: str = "INFO",
        max_bytes: int | None = None,
        backup_count: int | None = None,
    ) -> SdkLogger:
        """Also log to ``<home>/logs/<id>.log`` (or ``log_dir``); returns the logger."""
        folder = Path(log_dir) if log_dir is not None else self._runtime.ctx.home / "logs"
        logger, handlers = file_logger(
            self._runtime.ctx.logger,
            folder / f"{self.plugin_id}.log",
            log_level,
            max_bytes,
            backup_count,
        )
        self._runtime.file_handlers.extend((logger, h) for h in handlers)
        self.file_logger = SdkLogger(logger)
        return self.file_logger

    def setup_logger(self, **_: Any) -> SdkLogger:
        """N.E.K.O's logger set-up: nekohooks configures logging; returns the logger."""
        return self.ctx.logger

    def __getattr__(self, name: str) -> Any:
        feature = _UNSUPPORTED.get(name)
        if feature is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        unsupported(f"NekoPluginBase.{name}", feature)


_UNSUPPORTED = {
    "bus": "the plugin bus",
    "memory": "the memory client",
    "system_info": "host system information",
    "plugins": "calls to other plugins",
    "db": "the plugin database",
    "state": "state persistence",
    "include_router": "routers",
    "exclude_router": "routers",
    "register_static_ui": "UI panels",
    "register_dynamic_entry": "dynamic entries",
    "unregister_dynamic_entry": "dynamic entries",
    "register_llm_tool": "dynamic LLM tools",
    "unregister_llm_tool": "dynamic LLM tools",
    "run_update": "run updates",
    "export_push": "exports",
    "finish": "run results",
    "register_music_domains": "media allow-lists",
}
