"""Two small browser-side widgets the page needs, as Vue templates (no files, no downloads).

- `WidthProbe` reports the width of the panel area, on load and after a resize, so the figures
  are drawn at the size they are shown (text never scaled down, nothing blurred).
- `AddressBar` writes the session's settings into the address (`history.replaceState`: no new
  history entry per week), so a reload or a shared link restores them.
"""

from __future__ import annotations

from collections.abc import Callable

import ipyvuetify as v
import solara
import traitlets


class _WidthProbe(v.VuetifyTemplate):
    template = traitlets.Unicode(
        """
<template><div class="peerscale-probe" style="width: 100%; height: 0"></div></template>
<script>
module.exports = {
  mounted() {
    // The observer also fires once on observing: the first width is reported 200 ms after
    // the page mounts, once the drawer beside the panels has taken its place.
    this.observer = new ResizeObserver(() => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.report(), 200);  // once the resize has settled
    });
    this.observer.observe(this.$el);
  },
  destroyed() {
    if (this.observer) this.observer.disconnect();
  },
  methods: {
    report() {
      const width = Math.round(this.$el.getBoundingClientRect().width);
      if (width > 0) this.width = width;
    },
  },
};
</script>
"""
    ).tag(sync=True)
    width = traitlets.Int(0).tag(sync=True)


class _AddressBar(v.VuetifyTemplate):
    template = traitlets.Unicode(
        """
<template><span style="display: none"></span></template>
<script>
module.exports = {
  mounted() { this.write(this.query); },
  watch: { query(value) { this.write(value); } },
  methods: {
    write(value) {
      if (value === null || value === undefined) return;  // nothing to say yet
      const url = new URL(window.location.href);
      url.search = value;
      if (url.href !== window.location.href) {
        window.history.replaceState(window.history.state, "", url.href);
      }
    },
  },
};
</script>
"""
    ).tag(sync=True)
    query = traitlets.Unicode(None, allow_none=True).tag(sync=True)


@solara.component
def WidthProbe(on_width: Callable[[int], None]):
    """Report the width (CSS px) of the element this is placed in."""
    return _WidthProbe.element(on_width=on_width)


@solara.component
def AddressBar(query: str | None):
    """Keep the browser's address at `?query` (None: leave it as it is)."""
    return _AddressBar.element(query=query)
