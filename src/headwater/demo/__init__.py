"""The demo: a local Salesforce (the emulator) wired into Headwater, with dataflows for Account and Contact.

* ``emulator.start_demo_emulator`` runs the emulator in this process over HTTPS, its org kept under
  ``<data dir>/demo-salesforce`` so restarts reuse it, and returns the CA bundle the service must trust.
* ``account.ensure_demo_account`` adds the "Demo Salesforce" base connection through the same service
  class as ``POST /connections`` (``headwater serve --demo`` stops there).
* ``provision`` creates the rest over the REST API, as a user of Adobe's tutorial would, and
  ``commands/demo.py`` (``headwater demo``) runs the flows with a progress display.
"""
