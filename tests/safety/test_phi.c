/* PHI recognisers. Validators follow their sources: Luhn (ISO/IEC 7812),
 * SSA's never-issued SSN ranges (area 000, 666, 900-999; group 00; serial
 * 0000), ISO 13616 mod-97 for IBANs (GB82 WEST 1234 5698 7654 32 is the
 * standard's example), CMS's NPI check digit (Luhn with the 80840 prefix;
 * 1234567893 is CMS's worked example), HIPAA Safe Harbor for ages over 89. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safety/safety.h"

static safety_t *g_s;

static int setup(void **state)
{
    (void)state;
    muse_error_t err = {0};
    return safety_open(NULL, &g_s, &err) == MUSE_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    safety_close(g_s);
    return 0;
}

/* The redaction of text, freed by the caller. */
static char *redact(const char *text)
{
    char *out = NULL;
    muse_error_t err = {0};
    assert_int_equal(safety_redact(g_s, text, &out, NULL, &err), MUSE_OK);
    return out;
}

static void expect(const char *text, const char *want)
{
    char *got = redact(text);
    if (strcmp(got, want) != 0)
        fail_msg("redact(\"%s\")\n  got  \"%s\"\n  want \"%s\"", text, got, want);
    free(got);
}

static void test_ssn(void **state)
{
    (void)state;
    expect("my SSN is 123-45-6788", "my SSN is <US_SSN>");
    expect("ssn 219 09 9999 please", "ssn <US_SSN> please");
    expect("social security number 219099999", "social security number <US_SSN>");
    /* Never issued: area 000, 666, 9xx; group 00; serial 0000. */
    expect("code 000-12-3456", "code 000-12-3456");
    expect("code 666-12-3456", "code 666-12-3456");
    expect("code 912-12-3456", "code 912-12-3456");
    expect("code 123-00-3456", "code 123-00-3456");
    expect("code 123-45-0000", "code 123-45-0000");
}

static void test_cards_iban_npi(void **state)
{
    (void)state;
    expect("card 4111 1111 1111 1111 expired", "card <CREDIT_CARD> expired");
    expect("card 4111 1111 1111 1112 expired", "card 4111 1111 1111 1112 expired");
    expect("IBAN GB82 WEST 1234 5698 7654 32", "IBAN <IBAN_CODE>");
    expect("IBAN GB82 WEST 1234 5698 7654 33", "IBAN GB82 WEST 1234 5698 7654 33");
    expect("the NPI is 1234567893", "the NPI is <US_NPI>");
    /* A failed check digit is no NPI (it may still look like a phone). */
    safety_entity_t *e = NULL;
    size_t n = 0;
    muse_error_t err = {0};
    assert_int_equal(safety_phi_find(g_s, "the NPI is 1234567890", &e, &n, &err), MUSE_OK);
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(e[i].type, "US_NPI");
    free(e);
}

static void test_contact(void **state)
{
    (void)state;
    expect("email me at jane.doe+clinic@example.org today",
           "email me at <EMAIL_ADDRESS> today");
    expect("call (555) 867-5309 or +44 20 7946 0958",
           "call <PHONE_NUMBER> or <PHONE_NUMBER>");
    expect("server 192.168.10.254 is down", "server <IP_ADDRESS> is down");
    expect("version 300.1.2.3 is out", "version 300.1.2.3 is out");
    expect("I live at 42 Wallaby Way, Sydney", "I live at <STREET_ADDRESS>, Sydney");
}

static void test_dates_ages(void **state)
{
    (void)state;
    expect("born on 03/14/1952", "born on <DATE_TIME>");
    expect("my date of birth is 1952-03-14", "my date of birth is <DATE_TIME>");
    expect("she is 94 years old", "she is <AGE>");
    /* Ages up to 89 are not identifying under Safe Harbor. */
    expect("she is 54 years old", "she is 54 years old");
    /* Doses are not dates. */
    expect("I take 2000 mg of vitamin C", "I take 2000 mg of vitamin C");
}

static void test_person(void **state)
{
    (void)state;
    expect("My name is Sarah Johnson and I have a cough",
           "My name is <PERSON> and I have a cough");
    expect("I saw Dr. Okafor yesterday", "I saw Dr. <PERSON> yesterday");
    expect("my name is lena andersson", "my name is <PERSON>");
    /* Eponyms and ordinary capitalised words are not people. */
    expect("My dad has Parkinson's disease", "My dad has Parkinson's disease");
    expect("What is Crohn's disease?", "What is Crohn's disease?");
    expect("Will it hurt?", "Will it hurt?");
    expect("Can I take Ibuprofen with Paracetamol?", "Can I take Ibuprofen with Paracetamol?");
}

/* The name finder's evidence: lexicons, particles, cues, lists. */
static void test_person_evidence(void **state)
{
    (void)state;
    /* Surname particles join the parts of one name; Mc/O' are a surname's shape. */
    expect("Please call Jan van der Berg tomorrow", "Please call <PERSON> tomorrow");
    expect("She saw Willem ten Brink", "She saw <PERSON>");
    expect("I met Siobhan O'Neill and Ian McAllister", "I met <PERSON> and <PERSON>");
    /* A cue before or after a word that is also English makes it a name. */
    expect("She named him Frank", "She named him <PERSON>");
    expect("my kid Zoltar has a rash", "my kid <PERSON> has a rash");
    expect("Johanna shouted at Tiffany", "<PERSON> shouted at <PERSON>");
    /* Given names in a lower-case list make the whole list people. */
    expect("we invited kristina, oliver, dmitri and chad",
           "we invited <PERSON>, <PERSON>, <PERSON> and <PERSON>");
    expect("symptoms: fever, cough, nausea and rash", "symptoms: fever, cough, nausea and rash");
    /* A title before a lower-case listed name. */
    expect("mr. elliott flew home", "mr. <PERSON> flew home");
    /* A name an address pattern ran into keeps its own span. */
    expect("Sandra lives on Hansinegata 120", "<PERSON> lives on <STREET_ADDRESS>");
    expect("For my take on Dr. Wells, see below", "For my take on Dr. <PERSON>, see below");
    /* "the X novel": a name as a modifier is still a name; "the X Group" is not. */
    expect("Unlike the Jensen novel, it is short", "Unlike the <PERSON> novel, it is short");
    expect("I work for the Davis Group", "I work for the Davis Group");
}

/* Health questions name diseases, medicines, eponyms and places, never
 * people; the names below are from Muse's own knowledge base and common
 * eponyms. */
static void test_person_not_medical(void **state)
{
    (void)state;
    static const char *const q[] = {
        "What is the best treatment for Graves disease?",
        "Is Parkinson's hereditary?",
        "My dad has Alzheimer's and Crohn's.",
        "Does Hashimoto cause weight gain?",
        "What is Down syndrome?",
        "Can Hashimoto's thyroiditis cause fatigue?",
        "Is Allegra safe with Norvasc?",
        "My mom needs a Holter monitor.",
        "Can I take Bayer aspirin with Ozempic?",
        "Is Tylenol or Advil better for a fever?",
        "I live in Paris and my doctor is in London.",
        "We moved to Jordan last year.",
        "The Mayo Clinic says Addison's disease is rare.",
        "Is Lyme disease common in Georgia?",
        "He said the Epley maneuver helps vertigo.",
    };
    for (size_t i = 0; i < sizeof q / sizeof *q; i++)
        expect(q[i], q[i]);
}

static void test_mrn(void **state)
{
    (void)state;
    expect("MRN: 00123456 admitted", "MRN: <MEDICAL_RECORD> admitted");
}

static void test_find_sorted(void **state)
{
    (void)state;
    safety_entity_t *e = NULL;
    size_t n = 0;
    muse_error_t err = {0};
    const char *t = "Call Ann Smith at 555-123-4567 or ann@example.com";
    assert_int_equal(safety_phi_find(g_s, t, &e, &n, &err), MUSE_OK);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].type, "PERSON");
    assert_string_equal(e[1].type, "PHONE_NUMBER");
    assert_string_equal(e[2].type, "EMAIL_ADDRESS");
    for (size_t i = 1; i < n; i++)
        assert_true(e[i - 1].end <= e[i].start);
    free(e);
    size_t k = 0;
    char *out = NULL;
    assert_int_equal(safety_redact(g_s, t, &out, &k, &err), MUSE_OK);
    assert_int_equal(k, 3);
    free(out);
    assert_int_equal(safety_redact(g_s, "\xff", &out, &k, &err), MUSE_EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ssn),         cmocka_unit_test(test_cards_iban_npi),
        cmocka_unit_test(test_contact),     cmocka_unit_test(test_dates_ages),
        cmocka_unit_test(test_person),      cmocka_unit_test(test_person_evidence),
        cmocka_unit_test(test_person_not_medical), cmocka_unit_test(test_mrn),
        cmocka_unit_test(test_find_sorted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
