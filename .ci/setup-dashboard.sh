#!/usr/bin/env bash
# Placeholder until the dashboard lands: nothing to install yet.
exit 0
