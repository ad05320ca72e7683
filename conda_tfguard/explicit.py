"""Installs that never solve (``conda create/install --file`` with an explicit lock file).

No solve hook runs for them, so a pre-transaction action judges the transaction in
``verify()``, before anything is linked; returning the error stops the transaction.
Imported only by the pre-transaction hook.
"""

from __future__ import annotations

from conda.core.path_actions import Action

from . import guard

__all__ = ["ExplicitInstallCheck"]


class ExplicitInstallCheck(Action):
    def verify(self):
        self._verified = True
        if guard.take_judged_by_solve():
            return None  # the post-solve hook has judged this transaction already
        from .packages import Request

        requested = tuple(
            Request(s.name, str(s.get_raw_value("version") or ""), "", str(s.get_raw_value("build") or ""))
            for s in (self.update_specs or ())
        )
        try:
            guard.guard(self.target_prefix, self.unlink_precs or (), self.link_precs or (), requested,
                        blocked_before="before anything was linked")
        except guard.TfguardBlocked as blocked:
            return blocked
        return None

    def execute(self):
        pass

    def reverse(self):
        pass

    def cleanup(self):
        pass
