-- Contributions as policy data (issue 28; docs/adr/0022-contribution-standards.md).

-- 1. The yearly personal contribution standard per region and kind: a region, a province (xx0000) or the nation
-- (000000); `year` is the year of insurance the contribution pays for (contribution.requested's `year`). Which row
-- applies: services/payment/domain/contributions.py. Operators: make settlements ARGS="standards ...".
CREATE TABLE contribution_standards (
    admdvs      char(6) NOT NULL CHECK (admdvs ~ '^[0-9]{6}$'),
    insutype    text NOT NULL CHECK (insutype IN ('390', '410')),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    amount      numeric(16,2) NOT NULL CHECK (amount > 0),
    source      text NOT NULL CHECK (source <> ''),
    set_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (admdvs, insutype, year)
);

-- Seeded figures. 390: the national minimum individual contribution of resident basic medical insurance set by
-- the yearly notices of the National Healthcare Security Administration, the Ministry of Finance and the State
-- Taxation Administration (关于做好城乡居民基本医疗保障工作的通知): 320 (2021 notice), 350 (2022), 380 (2023,
-- 医保发〔2023〕24号), 400 (2024, 医保发〔2024〕19号) yuan per person per year. Residents pay in the autumn for the
-- next year, so a notice's figure is that of the next year of insurance [inferred: 380 for 2024, 400 for 2025, as
-- the provinces' collection notices for 2024 and 2025 said]. Later years fall back to 2025 until an operator sets
-- the next notice's figure. Provinces and cities that charge more (several have higher or age-banded figures) set
-- their own row; none is seeded, as the platform has no verified figure for them.
-- 410: there is no national standard for a long-term-care personal contribution; the pilot cities (医保发〔2020〕37号
-- extended the 2016 pilots) set their own, individual shares of tens of yuan to about 100 a year for residents.
-- Seeded: a national default of 120.00 [inferred: an upper bound of the pilots' individual shares, for regions whose
-- figure the platform does not have], and two pilot cities from their first schemes [approximate, inferred:
-- Nantong 100 a year of which the individual 30 (2016); Shangrao 100 a year of which the individual 40 (2016)].
INSERT INTO contribution_standards (admdvs, insutype, year, amount, source) VALUES
    ('000000', '390', 2022, 320.00, 'national minimum individual contribution, 2021 notice on resident basic medical insurance (NHSA, MoF, STA) [inferred: the next year of insurance]'),
    ('000000', '390', 2023, 350.00, 'national minimum individual contribution, 2022 notice on resident basic medical insurance (NHSA, MoF, STA) [inferred: the next year of insurance]'),
    ('000000', '390', 2024, 380.00, 'national minimum individual contribution, 医保发〔2023〕24号 (NHSA, MoF, STA) [inferred: the next year of insurance]'),
    ('000000', '390', 2025, 400.00, 'national minimum individual contribution, 医保发〔2024〕19号 (NHSA, MoF, STA) [inferred: the next year of insurance]'),
    ('000000', '410', 2022, 120.00, '[inferred] no national long-term-care standard: an upper bound of the pilot cities'' individual shares (tens of yuan to about 100 a year)'),
    ('320600', '410', 2022, 30.00, '[approximate, inferred] Nantong long-term care pilot (2016): 100 yuan a year, of which the individual 30'),
    ('361100', '410', 2022, 40.00, '[approximate, inferred] Shangrao long-term care pilot (2016): 100 yuan a year, of which the individual 40');

-- 2. Once a year per insured person and kind: at most one live contribution (waiting for the wallet, completed,
-- or being undone) per (psn_no, insutype, year). A refused or cancelled one leaves the index and frees the year.
-- Rows from before this migration were never held to it (a person may have paid twice: issue 28): the first live
-- one of each (person, kind, year) holds the year, later ones stay as they are (`yearly` false) for operators.
ALTER TABLE settlements ADD COLUMN yearly boolean NOT NULL DEFAULT false;
UPDATE settlements SET yearly = true WHERE setl_id IN (
    SELECT DISTINCT ON (psn_no, insutype, year) setl_id FROM settlements
    WHERE purpose = 'contribution' AND state IN ('debiting', 'completed', 'cancelling')
    ORDER BY psn_no, insutype, year, requested_at, setl_id);
ALTER TABLE settlements ADD CONSTRAINT yearly_is_a_contribution
    CHECK (NOT yearly OR purpose = 'contribution' AND insutype IS NOT NULL AND year IS NOT NULL);
CREATE UNIQUE INDEX one_live_contribution_a_year ON settlements (psn_no, insutype, year)
    WHERE yearly AND state IN ('debiting', 'completed', 'cancelling');

-- 3. Where each insured person is insured, copied from relationship.events.v1 (relationship.person-enrolment-
-- changed): the region whose standard applies. A copy keeps the highest version (ADR 0012).
CREATE TABLE insured_people (
    psn_no          text PRIMARY KEY,
    insuplc_admdvs  char(6) NOT NULL,
    version         integer NOT NULL
);
