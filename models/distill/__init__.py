"""Multilingual knowledge distillation (Reimers & Gurevych 2020) into a smaller e5 student."""
