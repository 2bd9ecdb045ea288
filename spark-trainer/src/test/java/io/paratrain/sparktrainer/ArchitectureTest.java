package io.paratrain.sparktrainer;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The module and package arrows, checked on the production classes of the three library modules (all on this
 * module's test classpath): gradient-sharing, model-split and spark-trainer. Tests are left out on purpose: a test
 * may reach into another module's internals to forge a frame or inspect a media driver.
 */
class ArchitectureTest
{
    private static final List<String> MODULES = List.of("gradientsharing", "modelsplit", "sparktrainer");

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses()
    {
        classes = new ClassFileImporter()
            // the other modules arrive as folders in a `test` build and as jars in a `verify` build (their test
            // jars too, which are left out like this module's test classes)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(location -> !location.contains("-tests.jar"))
            .importPackages("io.paratrain");
        // A rule over no classes passes vacuously; make sure each module was really imported.
        for (final String module : MODULES)
        {
            assertFalse(classes.stream().noneMatch(c -> c.getPackageName().startsWith("io.paratrain." + module)),
                "no classes of io.paratrain." + module + " were imported");
        }
    }

    @Test
    void noModuleImportsAnotherModulesInternalPackage()
    {
        for (final String module : MODULES)
        {
            final ArchRule rule = noClasses().that().resideOutsideOfPackage("io.paratrain." + module + "..")
                .should().dependOnClassesThat().resideInAPackage("io.paratrain." + module + ".internal..")
                .because("what two modules share is a public API of the module that owns it");
            rule.check(classes);
        }
    }

    @Test
    void gradientSharingAndModelSplitKnowNothingOfSpark()
    {
        noClasses().that().resideInAnyPackage("io.paratrain.gradientsharing..", "io.paratrain.modelsplit..")
            .should().dependOnClassesThat().resideInAnyPackage("org.apache.spark..", "scala..")
            .check(classes);
    }

    @Test
    void gradientSharingKnowsNothingOfModelSplitOrTheTrainer()
    {
        noClasses().that().resideInAPackage("io.paratrain.gradientsharing..")
            .should().dependOnClassesThat().resideInAnyPackage("io.paratrain.modelsplit..", "io.paratrain.sparktrainer..")
            .check(classes);
        noClasses().that().resideInAPackage("io.paratrain.modelsplit..")
            .should().dependOnClassesThat().resideInAPackage("io.paratrain.sparktrainer..")
            .check(classes);
    }

    @Test
    void dl4jSparkIsUsedOnlyByTheTrainingMasterAdapter()
    {
        noClasses().that().resideOutsideOfPackage("io.paratrain.sparktrainer.dl4j..")
            .should().dependOnClassesThat().resideInAPackage("org.deeplearning4j.spark..")
            .because("dl4j-spark is DL4J's last Spark release; everything that touches it stays in one adapter")
            .check(classes);
    }

    /**
     * Modules form no cycle, and neither do the sub-packages of a module. A module's API package and its
     * {@code internal} package are one unit here: internal classes implement the API's interfaces and the API's
     * entry points construct them, which is a cycle by design.
     */
    @Test
    void modulesAndTheirSubPackagesFormNoCycles()
    {
        slices().matching("io.paratrain.(*)..").should().beFreeOfCycles().check(classes);
        slices().matching("io.paratrain.(*).(*)..").should().beFreeOfCycles().check(classes);
    }

    /** spark-trainer's internal rooms (stage, data, snapshot, checkpoint, driver, ...) depend on each other one way. */
    @Test
    void sparkTrainerInternalConcernsFormNoCycles()
    {
        slices().matching("io.paratrain.sparktrainer.internal.(*)..").should().beFreeOfCycles().check(classes);
    }
}
