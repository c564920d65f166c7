"""The use cases behind the JSON API, the HTML pages and the commands, one module per job.

    people       add, edit, search and delete people (deleting removes their face data for real)
    templates    enrolment: the live quality check, enrol one photo or a batch, delete, face chips
    recognition  1:N identify and 1:1 verify an uploaded image
    kiosk_login  the face login after a liveness challenge: lockout, clocking, one-time tickets
    attendance   clock in/out, day reports with worked hours, the CSV report, the employee's week
    access       administrators, password sign-in and its lockout, first-run setup, API keys
    audit        the audit log (who did what, never biometric data)
    reembed      move every stored face chip to another embedder
    health       readiness and metrics

Every function takes a `common.Context` first; common.py states the rules they all follow.
"""
