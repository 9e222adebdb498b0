"""The domain of intake: sites, submissions, attachments, contacts, consent, codes, text."""
