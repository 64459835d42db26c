"""Contacts: reading vCard files and normalising phone numbers and emails."""
