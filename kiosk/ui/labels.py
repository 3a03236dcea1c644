"""Japanese labels the screens show besides the catalog's own (msgids for kiosk.i18n)."""

GROUP_NAMES = {"certificates": "証明書", "moving": "引っ越し", "family": "家族・子ども",
               "insurance": "保険・年金", "tax": "税", "other": "その他"}
