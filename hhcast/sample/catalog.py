"""The vocabulary the simulated exports are written in: types, signs, stations, ATA chapters."""

from __future__ import annotations

STUDIED_TYPE = "B737NG"

# Registration prefix per type; the two trailing letters number aircraft in delivery order.
REGISTRATION_PREFIX: dict[str, str] = {"B737NG": "PR-G", "A320": "PR-M", "E190": "PR-X"}

# Share of the non-studied fleet flying each other type.
OTHER_TYPES: dict[str, float] = {"A320": 0.6, "E190": 0.4}

MAINTENANCE_SIGNS: dict[str, float] = {"MECHANIC": 0.5, "TECHNICIAN": 0.3, "INSPECTOR": 0.2}
CREW_SIGNS: dict[str, float] = {"PILOT": 0.6, "CABIN": 0.4}

STATIONS: dict[str, float] = {
    "GRU": 0.30,
    "CGH": 0.15,
    "GIG": 0.12,
    "BSB": 0.10,
    "CNF": 0.09,
    "POA": 0.08,
    "SSA": 0.08,
    "REC": 0.08,
}

ATA_CHAPTERS: dict[int, str] = {
    21: "AIR CONDITIONING",
    22: "AUTO FLIGHT",
    23: "COMMUNICATIONS",
    24: "ELECTRICAL POWER",
    25: "EQUIPMENT/FURNISHINGS",
    26: "FIRE PROTECTION",
    27: "FLIGHT CONTROLS",
    28: "FUEL",
    29: "HYDRAULIC POWER",
    30: "ICE AND RAIN PROTECTION",
    31: "INDICATING/RECORDING SYSTEMS",
    32: "LANDING GEAR",
    33: "LIGHTS",
    34: "NAVIGATION",
    35: "OXYGEN",
    36: "PNEUMATIC",
    38: "WATER/WASTE",
    49: "AIRBORNE AUXILIARY POWER",
    52: "DOORS",
    53: "FUSELAGE",
    56: "WINDOWS",
    57: "WINGS",
    71: "POWER PLANT",
    72: "ENGINE",
    73: "ENGINE FUEL AND CONTROL",
    75: "AIR",
    77: "ENGINE INDICATING",
    79: "OIL",
    80: "STARTING",
}

# Paperwork booked as unscheduled work; DOMAIN.md excludes it by its description.
ADMINISTRATIVE_ATA = 1
ADMINISTRATIVE_DESCRIPTION = "ADMINISTRATIVE - GENERAL"

# Free text planners leave in the utilisation export; accents make the file encoding matter.
REMARKS: tuple[str, ...] = (
    "Manutenção não programada",
    "Inspeção",
    "Troca de pneu, trem principal",
    "Voo de traslado",
    "Pernoite em GRU",
    "Atraso técnico",
    "Revisão de freios, lado esquerdo",
    "Substituição de lâmpada",
)

# Notes planners leave in the flight plan; accents again make its encoding matter.
PLAN_REMARKS: tuple[str, ...] = (
    "Voo extra",
    "Fretamento, São Paulo",
    "Programação sujeita a alteração",
    "Pernoite em GRU",
    "Traslado para manutenção",
    "Reserva técnica",
)
